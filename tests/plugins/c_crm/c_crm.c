/*
 * c_crm: a CRM plugin written in plain C99 against branchline/abi.h alone, to prove that the ABI
 * needs no C++ on the plugin's side. It serves customers from a fixed table and keeps interaction
 * notes in memory, idempotent on their key. Completes every call inline, on the calling thread.
 */
#include <branchline/branchline.h>
#include <branchline_plugin_info.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NOTES 64

typedef struct c_crm {
  const bl_host_api* host;
  bl_host_ctx* ctx;
  char keys[MAX_NOTES][64];
  int note_count;
} c_crm;

/* Finds "name":"value" in a JSON text and copies value (no escapes) into out. Enough for a test
 * plugin that receives host-generated JSON; a real plugin uses a JSON parser. */
static int json_string_field(const char* json, size_t length, const char* name, char* out, size_t out_size) {
  char pattern[80];
  const char* end = json + length;
  const char* at;
  size_t plen;
  snprintf(pattern, sizeof pattern, "\"%s\":\"", name);
  plen = strlen(pattern);
  for (at = json; at + plen <= end; ++at) {
    if (memcmp(at, pattern, plen) == 0) {
      const char* v = at + plen;
      size_t n = 0;
      while (v + n < end && v[n] != '"' && n + 1 < out_size) {
        out[n] = v[n];
        ++n;
      }
      out[n] = '\0';
      return v + n < end && v[n] == '"';
    }
  }
  return 0;
}

static void finish(c_crm* self, bl_call_id call, bl_status status, const char* result, const char* message) {
  self->host->complete(self->ctx, call, status, result, result ? strlen(result) : 0, message,
                       message ? strlen(message) : 0);
}

static void lookup_customer(bl_plugin_instance* instance, const bl_request* request) {
  c_crm* self = (c_crm*)instance;
  char id[64];
  char result[256];
  if (!json_string_field(request->body, request->body_length, "customer_id", id, sizeof id)) {
    finish(self, request->call, BL_INVALID_ARGUMENT, NULL, "customer_id is required");
    return;
  }
  if (strcmp(id, "c-100") != 0) {
    finish(self, request->call, BL_NOT_FOUND, NULL, "no such customer");
    return;
  }
  snprintf(result, sizeof result, "{\"customer_id\":\"%s\",\"fields\":{\"name\":\"Ada Lovelace\",\"segment\":\"retail\"}}", id);
  finish(self, request->call, BL_OK, result, NULL);
}

static void add_note(bl_plugin_instance* instance, const bl_request* request) {
  c_crm* self = (c_crm*)instance;
  char key[64];
  char result[128];
  int i;
  if (!json_string_field(request->body, request->body_length, "idempotency_key", key, sizeof key)) {
    finish(self, request->call, BL_INVALID_ARGUMENT, NULL, "idempotency_key is required");
    return;
  }
  for (i = 0; i < self->note_count; ++i) {
    if (strcmp(self->keys[i], key) == 0) break;
  }
  if (i == self->note_count) {
    if (self->note_count == MAX_NOTES) {
      finish(self, request->call, BL_RESOURCE_EXHAUSTED, NULL, "note store full");
      return;
    }
    strcpy(self->keys[self->note_count++], key);
  }
  snprintf(result, sizeof result, "{\"note_id\":\"n-%d\"}", i + 1);
  finish(self, request->call, BL_OK, result, NULL);
}

static bl_status create(const bl_host_api* host, bl_host_ctx* ctx, const bl_create_args* args,
                        bl_plugin_instance** instance, bl_message* error) {
  c_crm* self;
  (void)args;
  if (host == NULL || host->struct_size < sizeof(bl_host_api)) {
    bl_message_set(error, "host services table too small");
    return BL_FAILED_PRECONDITION;
  }
  self = (c_crm*)calloc(1, sizeof *self);
  if (self == NULL) {
    bl_message_set(error, "out of memory");
    return BL_RESOURCE_EXHAUSTED;
  }
  self->host = host;
  self->ctx = ctx;
  host->log(ctx, BL_LOG_INFO, "c_crm ready", 11);
  *instance = (bl_plugin_instance*)self;
  return BL_OK;
}

static void destroy(bl_plugin_instance* instance) { free(instance); }

static const bl_crm_api crm_table = {sizeof(bl_crm_api), 0, lookup_customer, NULL, add_note, NULL};

static const bl_plugin_descriptor descriptor = {
    sizeof(bl_plugin_descriptor), BL_ABI_MAJOR, BL_ABI_MINOR, BL_KIND_CRM, 0,
    BL_PLUGIN_ID, BL_PLUGIN_VENDOR, BL_PLUGIN_VERSION, BL_PLUGIN_SETTINGS_SCHEMA,
    create, destroy, NULL, NULL, &crm_table};

BL_PLUGIN_ENTRY(host_major, host_minor) {
  (void)host_minor;
  return host_major == BL_ABI_MAJOR ? &descriptor : NULL;
}
