-- The ERP's order tables that orders.sync reads (specs/erp-orders.md): a German-language
-- order system for window and shutter makers, legacy style — latin1 tables, free text,
-- no foreign keys. Only the columns the query touches are known; the others are a few
-- realistic extras. Safe to run again (IF NOT EXISTS). Fill it with
--   sluice generate erp-orders --mysql-url URL --orders N [--seed S]
-- sluice itself only ever SELECTs from these tables (see the README for the read-only
-- account).

-- Order header: one row per order.
CREATE TABLE IF NOT EXISTS A_Kopf (
    ID INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    AuNummer VARCHAR(40) NOT NULL,          -- order number (sometimes padded, too long)
    AuAlpha VARCHAR(10) NULL,               -- extension: '', NULL, 'A', ...
    AufStatus VARCHAR(60) NULL,             -- Planifiee, Planifiée, lancer en prod, ...
    KdNummer VARCHAR(20) NULL,              -- customer number
    AuDatum DATE NULL,                      -- order date
    Bemerkung VARCHAR(255) NULL,            -- remark
    KEY A_Kopf_Nummer (AuNummer, AuAlpha)
) ENGINE=InnoDB DEFAULT CHARSET=latin1;

-- Free fields of the header (joined, not selected: they multiply rows).
CREATE TABLE IF NOT EXISTS A_KopfFreie (
    ID INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    ID_A_Kopf INT UNSIGNED NOT NULL,
    Feld1 VARCHAR(60) NULL,
    Feld2 VARCHAR(60) NULL,
    KEY A_KopfFreie_Kopf (ID_A_Kopf)
) ENGINE=InnoDB DEFAULT CHARSET=latin1;

-- Log book: many lines per order ("cde Planifiee par MB", ...).
CREATE TABLE IF NOT EXISTS A_Logbuch (
    ID INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    ID_A_Kopf INT UNSIGNED NOT NULL,
    Datum DATETIME NULL,                    -- may hold the zero date 0000-00-00 00:00:00
    Notiz VARCHAR(255) NULL,
    Benutzer VARCHAR(20) NULL,
    KEY A_Logbuch_Kopf (ID_A_Kopf)
) ENGINE=InnoDB DEFAULT CHARSET=latin1;

-- Accessories: the shutter box ("coffre") codes, several per order.
CREATE TABLE IF NOT EXISTS P_Zubeh (
    ID INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    ID_A_Kopf INT UNSIGNED NOT NULL,
    ZCode VARCHAR(80) NULL,                 -- SOP 125, S P 165, S TAB 200, ...
    Menge DECIMAL(10, 2) NULL,
    KEY P_Zubeh_Kopf (ID_A_Kopf)
) ENGINE=InnoDB DEFAULT CHARSET=latin1;

-- Articles (joined, not selected: they multiply rows).
CREATE TABLE IF NOT EXISTS P_Artikel (
    ID INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    ID_A_Kopf INT UNSIGNED NOT NULL,
    ArtNr VARCHAR(30) NULL,
    Bezeichnung VARCHAR(120) NULL,
    Breite INT NULL,
    Hoehe INT NULL,
    KEY P_Artikel_Kopf (ID_A_Kopf)
) ENGINE=InnoDB DEFAULT CHARSET=latin1;

-- Business process: Nummer contains VR when the order is served from stock.
CREATE TABLE IF NOT EXISTS A_Vorgang (
    ID INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    ID_A_Kopf INT UNSIGNED NOT NULL,
    Nummer VARCHAR(30) NULL,
    Art VARCHAR(20) NULL,
    KEY A_Vorgang_Kopf (ID_A_Kopf)
) ENGINE=InnoDB DEFAULT CHARSET=latin1;
