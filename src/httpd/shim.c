/*
 * Wrappers for httpd APIs that exist only as C macros (bindgen emits nothing for them), so
 * the Rust glue gets the exact semantics of the headers it was built against, including
 * builds of httpd with AP_DEBUG where ap_get_module_config is a real function.
 * Nothing here is exported from mod_jk.so: rustc's version script keeps only jk_module.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "util_filter.h"

void *jk_shim_get_module_config(const ap_conf_vector_t *cv, const module *m)
{
    return ap_get_module_config(cv, m);
}

void jk_shim_set_module_config(ap_conf_vector_t *cv, const module *m, void *val)
{
    ap_set_module_config(cv, m, val);
}

/* Messages are passed as data ("%s"), never as a format string. */
void jk_shim_log_error(const char *file, int line, const module *m, int level,
                       apr_status_t status, const server_rec *s, const char *msg)
{
    ap_log_error_(file, line, m->module_index, level, status, s, "%s", msg);
}

void jk_shim_log_rerror(const char *file, int line, const module *m, int level,
                        apr_status_t status, const request_rec *r, const char *msg)
{
    ap_log_rerror_(file, line, m->module_index, level, status, r, "%s", msg);
}

/* Ends a response whose body (or its last part) is in `bb`: the body and the EOS go down the
 * filter chain in one brigade, as httpd's own buffered writes do, so the content-length filter
 * sees the whole body and sets Content-Length itself. Empties `bb`. */
apr_status_t jk_shim_pass_with_eos(request_rec *r, apr_bucket_brigade *bb)
{
    apr_status_t rv;
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
    rv = ap_pass_brigade(r->output_filters, bb);
    apr_brigade_cleanup(bb);
    return rv;
}
