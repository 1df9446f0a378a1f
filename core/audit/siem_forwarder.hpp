// siem_forwarder: every ledger entry to the bank's SIEM, through the Splunk HTTP Event Collector
// (HEC) with indexer acknowledgement, or as RFC 5424 syslog over TLS (RFC 5425); at least once,
// none skipped, in ledger order.
//
// Contract:
//  - Entries are read from the ledger file (a read-only connection, beside the writer) after the
//    durable position, mapped to OCSF (ocsf.hpp: no personal data), and POSTed in batches to
//    <url>/services/collector/event with `Authorization: Splunk <token>` and the channel header.
//    Each event carries its ledger index as the indexed field `ledger_index` (and in
//    unmapped.ledger_index), so a search can drop the duplicates that retries make.
//  - A batch counts as delivered only when /services/collector/ack says its ackId is indexed.
//    Then, and only then, the position file is advanced (written whole, fsynced, renamed). After a
//    crash, an unreachable SIEM or an acknowledgement that never comes (ack_timeout), the batch is
//    sent again from the position: every entry arrives at least once and none is skipped.
//  - 503 (busy), transport errors and other failures back off exponentially (backoff_initial to
//    backoff_max) and retry the same batch; 4xx other than 429 are logged as configuration errors
//    (wrong token, bad index) and retried at backoff_max, never dropped.
//  - Signed checkpoints are forwarded too (sourcetype <sourcetype>:checkpoint), once the entries
//    they cover are delivered, so the SIEM holds a copy outside the host.
//  - One thread; stop() (or the destructor) finishes the request in flight or cancels it.
#pragma once

#include "net/http_client.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

namespace branchline::audit {

struct HecOptions {
  std::string url;      // the collector's base URL, e.g. https://splunk.bank.example:8088
  std::string token;    // a secret: never logged
  std::string channel;  // a GUID identifying this sender (indexer acknowledgement is per channel)
  std::string index;    // empty: the token's default index
  std::string source = "branchline";
  std::string sourcetype = "branchline:ocsf";
  std::string host;     // the node id
  std::string origin;   // the ledger's origin, for event ids
  std::size_t batch_max = 200;
  std::chrono::milliseconds poll{200};          // how often to look for new entries
  std::chrono::milliseconds ack_poll{250};
  std::chrono::milliseconds ack_timeout{30000};
  std::chrono::milliseconds backoff_initial{200}, backoff_max{30000};
  net::HttpPolicy policy;
};

// RFC 5424 syslog over TLS (RFC 5425): octet-counted frames, mutual TLS (the collector's
// certificate checked against ca_file and the host name or IP; ours from cert_file/key_file).
// Syslog has no acknowledgement: the durable position lags one batch behind what was written, so
// after a crash the last unconfirmed batch is sent again; an orderly stop (TLS close_notify)
// makes the position current.
struct SyslogOptions {
  std::string host;
  unsigned short port = 6514;
  std::string ca_file, cert_file, key_file;
  std::string hostname;  // the node id, the HOSTNAME field
  std::string app_name = "branchline";
  std::string origin;
  std::size_t batch_max = 200;
  std::chrono::milliseconds poll{200};
  std::chrono::milliseconds io_timeout{10000};
  std::chrono::milliseconds backoff_initial{200}, backoff_max{30000};
};

struct ForwarderStatus {
  std::uint64_t delivered = 0;        // the last ledger index the SIEM acknowledged
  std::uint64_t checkpoint = 0;       // the size of the last checkpoint it acknowledged
  std::uint64_t batches_sent = 0, resends = 0, failures = 0;
  std::string last_error;
};

class SiemForwarder {
 public:
  static std::unique_ptr<SiemForwarder> start(const std::filesystem::path& ledger_file,
                                              const std::filesystem::path& position_file, HecOptions options,
                                              std::shared_ptr<net::HttpClient> http);
  static std::unique_ptr<SiemForwarder> start_syslog(const std::filesystem::path& ledger_file,
                                                     const std::filesystem::path& position_file, SyslogOptions options);
  ~SiemForwarder();
  void stop();
  ForwarderStatus status() const;

  struct Impl;

 private:
  explicit SiemForwarder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace branchline::audit
