/* Includes every public ABI header; compiled as C99 and as C++20 by ctest. */
#include <branchline/branchline.h>

int main(void) {
  bl_message message;
  message.struct_size = sizeof message;
  bl_message_set(&message, "compiles");
  return message.length == 8 ? 0 : 1;
}
