/*
 * broken: deliberately broken plugins, one per fault the loader must refuse with a clear message.
 * Built several times with a different BROKEN_* definition (tests/plugins/CMakeLists.txt).
 */
#include <branchline/branchline.h>
#include <branchline_plugin_info.h>

#include <stdlib.h>

static bl_status create(const bl_host_api* host, bl_host_ctx* ctx, const bl_create_args* args,
                        bl_plugin_instance** instance, bl_message* error) {
  (void)host;
  (void)ctx;
  (void)args;
#if defined(BROKEN_INIT_FAILS)
  (void)instance;
  bl_message_set(error, "cannot reach the vendor\nsecond line must not break the log");
  return BL_UNAVAILABLE;
#else
  (void)error;
  *instance = (bl_plugin_instance*)malloc(1);
  return BL_OK;
#endif
}

static void destroy(bl_plugin_instance* instance) { free(instance); }

static void op(bl_plugin_instance* instance, const bl_request* request) {
  (void)instance;
  (void)request;
}

#if defined(BROKEN_NULL_REQUIRED)
static const bl_crm_api table = {sizeof(bl_crm_api), 0, NULL, NULL, op, NULL};
#else
static const bl_crm_api table = {sizeof(bl_crm_api), 0, op, NULL, op, NULL};
#endif

#if defined(BROKEN_ABI_MAJOR)
#define DESCRIPTOR_MAJOR 2
#else
#define DESCRIPTOR_MAJOR BL_ABI_MAJOR
#endif
#if defined(BROKEN_ABI_MINOR)
#define DESCRIPTOR_MINOR (BL_ABI_MINOR + 1)
#else
#define DESCRIPTOR_MINOR BL_ABI_MINOR
#endif
#if defined(BROKEN_DESCRIPTOR_SIZE)
#define DESCRIPTOR_SIZE (sizeof(bl_plugin_descriptor) + 64)
#else
#define DESCRIPTOR_SIZE sizeof(bl_plugin_descriptor)
#endif
#if defined(BROKEN_MANIFEST_MISMATCH)
#define DESCRIPTOR_VENDOR "Someone Else"
#else
#define DESCRIPTOR_VENDOR BL_PLUGIN_VENDOR
#endif

/* For BROKEN_DESCRIPTOR_SIZE the host reads struct_size first and refuses before reading on, so
 * the descriptor object itself need not be that large. */
static const bl_plugin_descriptor descriptor = {
    (uint32_t)DESCRIPTOR_SIZE, DESCRIPTOR_MAJOR, DESCRIPTOR_MINOR, BL_KIND_CRM, 0,
    BL_PLUGIN_ID, DESCRIPTOR_VENDOR, BL_PLUGIN_VERSION, BL_PLUGIN_SETTINGS_SCHEMA,
    create, destroy, NULL, NULL, &table};

#if defined(BROKEN_NO_ENTRY)
BL_EXPORT const bl_plugin_descriptor* not_the_entry_point(void) { return &descriptor; }
#else
BL_PLUGIN_ENTRY(host_major, host_minor) {
  (void)host_major;
  (void)host_minor;
  return &descriptor;
}
#endif
