/* handlers: the handler functions of every resource file, for the route table. */
#ifndef SLUICE_HANDLERS_H
#define SLUICE_HANDLERS_H

#include "http/request.h"

/* health.c */
void api_healthz(struct request *req);
void api_readyz(struct request *req);
/* metrics.c */
void api_metrics(struct request *req);
/* token.c */
void api_token(struct request *req);
/* users.c */
void api_users_create(struct request *req);
void api_users_list(struct request *req);
void api_users_me(struct request *req);
void api_users_get(struct request *req);
void api_users_update(struct request *req);
void api_users_delete(struct request *req);
/* docs.c */
void api_openapi(struct request *req);
void api_docs_page(struct request *req);
void api_docs_asset(struct request *req);
void api_root(struct request *req);

#endif
