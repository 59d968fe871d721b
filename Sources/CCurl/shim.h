#ifndef POSTURE_CCURL_SHIM_H
#define POSTURE_CCURL_SHIM_H

#include <curl/curl.h>

/* Swift cannot call C variadic functions: one typed wrapper per argument kind. */

static inline CURLcode posture_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode posture_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode posture_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode posture_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode posture_curl_setopt_offset(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

typedef size_t (*posture_curl_data_callback)(char *data, size_t size, size_t count, void *context);

static inline CURLcode posture_curl_setopt_callback(CURL *handle, CURLoption option, posture_curl_data_callback value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode posture_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

#endif
