/* Headers the glue binds to (bindgen input). */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_mpm.h"
#include "util_script.h"
#include "apr_strings.h"
#include "apr_pools.h"
#include "apr_tables.h"
#include "apr_time.h"
#include "apr_file_info.h"
#include "apr_lib.h"
#include "apr_date.h"
#include "unixd.h"

/* shim.c: wrappers for httpd APIs that exist only as C macros. */
void *jk_shim_get_module_config(const ap_conf_vector_t *cv, const module *m);
void jk_shim_set_module_config(ap_conf_vector_t *cv, const module *m, void *val);
void jk_shim_log_error(const char *file, int line, const module *m, int level,
                       apr_status_t status, const server_rec *s, const char *msg);
void jk_shim_log_rerror(const char *file, int line, const module *m, int level,
                        apr_status_t status, const request_rec *r, const char *msg);
apr_status_t jk_shim_pass_with_eos(request_rec *r, apr_bucket_brigade *bb);
