/*
 * branchline/media.h: plain C structs for media that crosses to recording and transcription
 * plugins. These are the hot path: no JSON, no allocation by the host per packet.
 */
#ifndef BRANCHLINE_MEDIA_H
#define BRANCHLINE_MEDIA_H

#include "abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a bl_media_packet holds. */
typedef uint32_t bl_media_format;
#define BL_MEDIA_RTP 1          /* one decrypted RTP packet, header included */
#define BL_MEDIA_RTCP 2         /* one decrypted RTCP compound packet */
#define BL_MEDIA_AUDIO_FRAME 3  /* one encoded audio frame (e.g. Opus), no RTP header */
#define BL_MEDIA_VIDEO_FRAME 4  /* one encoded video access unit (e.g. H.264 Annex B) */

#define BL_MEDIA_FLAG_KEYFRAME 1u /* a video frame that can be decoded alone */

/* One packet or frame. OWNERSHIP: host, borrowed until the call that receives it returns. */
typedef struct bl_media_packet {
  uint32_t struct_size;
  uint32_t track_id;             /* a track announced at open */
  bl_media_format format;
  uint32_t flags;                /* BL_MEDIA_FLAG_* */
  int64_t capture_time_us;       /* host monotonic clock, microseconds */
  uint32_t rtp_timestamp;        /* media clock, for frames too */
  uint32_t reserved;
  const uint8_t* data;
  size_t size;
} bl_media_packet;

/* Signed 16-bit PCM, interleaved. OWNERSHIP: host, borrowed until the call returns. */
typedef struct bl_pcm_frame {
  uint32_t struct_size;
  uint32_t track_id;             /* which participant's audio */
  uint32_t sample_rate;          /* Hz, as announced at open */
  uint16_t channels;             /* as announced at open */
  uint16_t reserved;
  int64_t capture_time_us;       /* of the first sample */
  const int16_t* samples;        /* frames * channels values */
  size_t frames;                 /* samples per channel */
} bl_pcm_frame;

#ifdef __cplusplus
}
#endif

#endif /* BRANCHLINE_MEDIA_H */
