/* branchline/branchline.h: includes the whole plugin ABI (abi.h and every kind's header). */
#ifndef BRANCHLINE_BRANCHLINE_H
#define BRANCHLINE_BRANCHLINE_H

#include "abi.h"
#include "core_banking.h"
#include "crm.h"
#include "event_sink.h"
#include "identity.h"
#include "media.h"
#include "queue.h"
#include "recording.h"
#include "transcription.h"

#endif /* BRANCHLINE_BRANCHLINE_H */
