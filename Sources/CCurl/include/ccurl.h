#ifndef POSTURE_CCURL_H
#define POSTURE_CCURL_H

/*
 * libcurl, loaded on first use with dlopen rather than linked: the verbs that never upload
 * (scan, integrity, verify, assess) then map none of libcurl and the TLS, Kerberos, LDAP and SSH
 * libraries it brings, about 5.5 MiB of resident memory. <curl/curl.h> gives the types and
 * constants only; call libcurl through the posture_curl_* functions below, never curl_* directly
 * (a direct call fails to link, as nothing links libcurl).
 */
#include <curl/curl.h>
#include <stddef.h>

/* The soname the agent loads: the ABI of libcurl4 (libcurl4t64). */
#define POSTURE_CURL_SONAME "libcurl.so.4"

/*
 * Opens `soname` and resolves every function the transport calls, without keeping it loaded
 * and without touching the process-wide library. 0 on success; otherwise -1 and a message in
 * `error` naming the library or symbol that is missing.
 */
int posture_curl_check_library(const char *soname, char *error, size_t error_size);

/*
 * Loads POSTURE_CURL_SONAME once for the process and calls curl_global_init. Thread-safe; a
 * failure is not remembered, so a later call tries again. 0 on success, else -1 and a message.
 */
int posture_curl_load(char *error, size_t error_size);

/* Each of these needs a successful posture_curl_load first. */
CURL *posture_curl_easy_init(void);
void posture_curl_easy_cleanup(CURL *handle);
CURLcode posture_curl_easy_perform(CURL *handle);
const char *posture_curl_easy_strerror(CURLcode code);
struct curl_slist *posture_curl_slist_append(struct curl_slist *list, const char *string);
void posture_curl_slist_free_all(struct curl_slist *list);

/* Swift cannot call C variadic functions: one typed setopt/getinfo per argument kind. */
typedef size_t (*posture_curl_data_callback)(char *data, size_t size, size_t count, void *context);
CURLcode posture_curl_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode posture_curl_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode posture_curl_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode posture_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);
CURLcode posture_curl_setopt_offset(CURL *handle, CURLoption option, curl_off_t value);
CURLcode posture_curl_setopt_callback(CURL *handle, CURLoption option, posture_curl_data_callback value);
CURLcode posture_curl_getinfo_long(CURL *handle, CURLINFO info, long *value);

#endif
