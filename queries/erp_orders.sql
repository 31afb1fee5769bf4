-- The ERP query of orders.sync (ERP_ORDERS_QUERY_FILE): roller-shutter orders from the
-- order system, as the E1 team wrote it (specs/erp-orders.md). Edit it to suit your ERP;
-- keep the six column names (numero_commande, extension, status, date_modification,
-- coffre, gestion_en_stock): sluice cleans, checks and deduplicates the rows itself.
-- One SELECT; a trailing ';' is fine. Read at every run.
SELECT Cde.AuNummer AS numero_commande,
       Cde.AuAlpha  AS extension,
       Cde.AufStatus AS status,
       DATE(Logb.Datum) AS date_modification,
       a.ZCode AS coffre,
       CASE WHEN Vorgang.Nummer LIKE '%VR%' THEN 1 ELSE 0 END AS gestion_en_stock
FROM A_Kopf AS Cde
LEFT JOIN A_KopfFreie AS cf      ON Cde.ID = cf.ID_A_Kopf
LEFT JOIN A_Logbuch   AS Logb    ON Cde.ID = Logb.ID_A_Kopf
LEFT JOIN P_Zubeh     AS a       ON Cde.ID = a.ID_A_Kopf
LEFT JOIN P_Artikel   AS Paramgen ON Cde.ID = Paramgen.ID_A_Kopf
LEFT JOIN A_Vorgang   AS Vorgang ON Cde.ID = Vorgang.ID_A_Kopf
WHERE Logb.Notiz LIKE '%cde Planifiee%'
  AND (Cde.AufStatus LIKE '%Planifiee%' OR Cde.AufStatus LIKE '%lancer en prod%'
       OR Cde.AufStatus LIKE '%vitrage%')
  AND (a.ZCode LIKE 'SOP%' OR a.ZCode LIKE 'S P %' OR a.ZCode LIKE 'S D %'
       OR a.ZCode LIKE 'S Q %' OR a.ZCode LIKE 'S T %' OR a.ZCode LIKE 'S TAB %'
       OR a.ZCode LIKE 'S TN %')
GROUP BY Cde.AuNummer, Cde.AuAlpha, Cde.AufStatus, Logb.Datum, a.ZCode, Vorgang.Nummer
ORDER BY Cde.AuNummer, Cde.AuAlpha
