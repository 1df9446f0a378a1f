/*
 * branchline/transcription.h: the transcription kind. A transcription plugin turns a
 * consultation's audio (PCM) into text segments, live, for notes, compliance checks and search.
 *
 * Sequence (see docs/plugin-abi.md):
 *   host -> open(args, sink, &stream)                     (host control thread)
 *   media worker -> write(stream, pcm) per 10-20 ms       (one media thread; non-blocking)
 *   plugin -> sink->on_segment(sink->host_data, segment)  (any plugin thread, partial and final)
 *   host -> close(stream, request) ... plugin flushes, sends its last segments, then
 *   plugin -> host->complete({"segments": integer})      (no on_segment after complete)
 */
#ifndef BRANCHLINE_TRANSCRIPTION_H
#define BRANCHLINE_TRANSCRIPTION_H

#include "abi.h"
#include "media.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bl_transcription bl_transcription; /* opaque; owned by the plugin */

#define BL_SEGMENT_FINAL 1u /* the text of this time range will not change again */

/* OWNERSHIP: plugin, borrowed until on_segment returns. */
typedef struct bl_transcript_segment {
  uint32_t struct_size;
  uint32_t track_id;
  uint32_t flags;            /* BL_SEGMENT_* */
  float confidence;          /* 0..1, or -1 when unknown */
  int64_t start_us;          /* on the capture clock of the PCM frames */
  int64_t end_us;
  const char* text;          /* UTF-8 */
  size_t text_length;
  const char* language;      /* BCP 47, e.g. "en-US" */
  size_t language_length;
} bl_transcript_segment;

/* Where segments go. OWNERSHIP: host; valid from open() until the close call is completed. */
typedef struct bl_transcript_sink {
  uint32_t struct_size;
  uint32_t reserved;
  void* host_data;
  /* Any plugin thread, one at a time per stream; must not block. */
  void (*on_segment)(void* host_data, const bl_transcript_segment* segment);
} bl_transcript_sink;

/* OWNERSHIP: host, borrowed for the duration of open(). */
typedef struct bl_transcription_open_args {
  uint32_t struct_size;
  uint32_t sample_rate;      /* Hz of every frame that follows, e.g. 16000 */
  uint16_t channels;         /* 1 */
  uint16_t reserved;
  uint32_t reserved2;
  const char* stream_id;
  size_t stream_id_length;
  const char* language;      /* BCP 47 hint, may be empty */
  size_t language_length;
} bl_transcription_open_args;

typedef struct bl_transcription_api {
  uint32_t struct_size;
  uint32_t reserved;

  /* Opens a stream. Host control thread; must not block on the network. Required. */
  bl_status (*open)(bl_plugin_instance* instance, const bl_transcription_open_args* args,
                    const bl_transcript_sink* sink, bl_transcription** stream, bl_message* error);

  /* Feeds audio. One media thread per stream; must not block: queue and decode elsewhere.
   * BL_RESOURCE_EXHAUSTED means the frame was dropped. Required. */
  bl_status (*write)(bl_plugin_instance* instance, bl_transcription* stream, const bl_pcm_frame* frame);

  /* Ends a stream: the plugin delivers its remaining segments, then completes.
   * body: {}   result: {"segments": integer}
   * The handle is invalid once the call is completed. Host control thread. Required. */
  void (*close)(bl_plugin_instance* instance, bl_transcription* stream, const bl_request* request);
} bl_transcription_api;

#ifdef __cplusplus
}
#endif

#endif /* BRANCHLINE_TRANSCRIPTION_H */
