#include "ccurl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

/* The libcurl functions the transport uses, resolved from one loaded copy of the library. */
struct curl_functions {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *handle);
    CURLcode (*easy_perform)(CURL *handle);
    const char *(*easy_strerror)(CURLcode code);
    CURLcode (*easy_setopt)(CURL *handle, CURLoption option, ...);
    CURLcode (*easy_getinfo)(CURL *handle, CURLINFO info, ...);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *string);
    void (*slist_free_all)(struct curl_slist *list);
};

static struct curl_functions curl;
static int curl_loaded;
static pthread_mutex_t curl_lock = PTHREAD_MUTEX_INITIALIZER;

/* Opens `soname` and fills `functions`; on failure closes it again and explains in `error`. */
static void *open_library(const char *soname, struct curl_functions *functions, char *error, size_t error_size) {
    void *library = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        const char *reason = dlerror();
        snprintf(error, error_size, "%s could not be loaded (%s): install the libcurl4 package",
                 soname, reason ? reason : "unknown reason");
        return NULL;
    }
    struct { const char *name; void **slot; } symbols[] = {
        {"curl_global_init", (void **)&functions->global_init},
        {"curl_easy_init", (void **)&functions->easy_init},
        {"curl_easy_cleanup", (void **)&functions->easy_cleanup},
        {"curl_easy_perform", (void **)&functions->easy_perform},
        {"curl_easy_strerror", (void **)&functions->easy_strerror},
        {"curl_easy_setopt", (void **)&functions->easy_setopt},
        {"curl_easy_getinfo", (void **)&functions->easy_getinfo},
        {"curl_slist_append", (void **)&functions->slist_append},
        {"curl_slist_free_all", (void **)&functions->slist_free_all},
    };
    for (size_t index = 0; index < sizeof symbols / sizeof symbols[0]; index++) {
        *symbols[index].slot = dlsym(library, symbols[index].name);
        if (*symbols[index].slot == NULL) {
            snprintf(error, error_size, "%s has no %s: it is not libcurl 4, install the libcurl4 package",
                     soname, symbols[index].name);
            dlclose(library);
            return NULL;
        }
    }
    return library;
}

int posture_curl_check_library(const char *soname, char *error, size_t error_size) {
    struct curl_functions functions;
    void *library = open_library(soname, &functions, error, error_size);
    if (library == NULL) return -1;
    dlclose(library);
    return 0;
}

int posture_curl_load(char *error, size_t error_size) {
    pthread_mutex_lock(&curl_lock);
    int result = 0;
    if (!curl_loaded) {
        struct curl_functions functions;
        if (open_library(POSTURE_CURL_SONAME, &functions, error, error_size) == NULL) {
            result = -1;
        } else {
            CURLcode code = functions.global_init(CURL_GLOBAL_DEFAULT);
            if (code != CURLE_OK) {
                snprintf(error, error_size, "curl_global_init failed: %s", functions.easy_strerror(code));
                result = -1;
            } else {
                curl = functions;
                curl_loaded = 1;
            }
        }
    }
    pthread_mutex_unlock(&curl_lock);
    return result;
}

CURL *posture_curl_easy_init(void) { return curl.easy_init(); }
void posture_curl_easy_cleanup(CURL *handle) { curl.easy_cleanup(handle); }
CURLcode posture_curl_easy_perform(CURL *handle) { return curl.easy_perform(handle); }
const char *posture_curl_easy_strerror(CURLcode code) { return curl.easy_strerror(code); }

struct curl_slist *posture_curl_slist_append(struct curl_slist *list, const char *string) {
    return curl.slist_append(list, string);
}

void posture_curl_slist_free_all(struct curl_slist *list) { curl.slist_free_all(list); }

CURLcode posture_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl.easy_setopt(handle, option, value);
}

CURLcode posture_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl.easy_setopt(handle, option, value);
}

CURLcode posture_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl.easy_setopt(handle, option, value);
}

CURLcode posture_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl.easy_setopt(handle, option, value);
}

CURLcode posture_curl_setopt_offset(CURL *handle, CURLoption option, curl_off_t value) {
    return curl.easy_setopt(handle, option, value);
}

CURLcode posture_curl_setopt_callback(CURL *handle, CURLoption option, posture_curl_data_callback value) {
    return curl.easy_setopt(handle, option, value);
}

CURLcode posture_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl.easy_getinfo(handle, info, value);
}
