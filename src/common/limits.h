// Every limit of fxmesh, named in one place. Units come last in each name.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace fxmesh::limits {

// Money. One request moves at most 10^15 minor units (10 trillion USD, 1 quadrillion KRW), so that
// sums of many requests and rate products stay far from int64 overflow.
inline constexpr int64_t kAmountMinorMax = 1'000'000'000'000'000;

// Rates: KRW per unit of a foreign currency in micros (× 10^6). The largest mid rate a rates file
// may give is 10^12 KRW per unit: far above any real currency, yet small enough that the ask at the
// widest spread still fits an int64. The spread is at most 10% (1,000 basis points).
inline constexpr int64_t kRateMicrosMax = 1'000'000'000'000'000'000;
inline constexpr int kSpreadBpsMax = 1'000;

// Identifiers.
inline constexpr size_t kAccountIdLengthMax = 64;
inline constexpr size_t kRequestIdLengthMax = 64;
inline constexpr size_t kOwnerLengthMax = 128;
inline constexpr size_t kBranchNameLengthMax = 32;
inline constexpr size_t kSagaIdHexLength = 32;

// Storage.
inline constexpr int kTransactionAttemptsMax = 5;
inline constexpr int kSqliteBusyTimeoutMs = 5'000;
inline constexpr size_t kPostgresPoolSizeDefault = 8;
inline constexpr size_t kSqlitePoolSizeDefault = 4;
// Group commit (Database::Transact): at most this many transactions share one COMMIT, and at most
// this many such batches run at once on PostgreSQL (SQLite runs one, its single writer). A batch
// holds its rows' locks until its COMMIT, so a bigger one trades a little latency on a hot row for
// far fewer disk flushes.
inline constexpr size_t kGroupCommitBatchMax = 64;
inline constexpr int kPostgresBatchesInFlight = 2;
// On PostgreSQL, every body of a batch after its first waits at most this long for a row lock; one
// that would wait longer is run again in a later batch. A batch already holds its earlier bodies'
// locks while a later one waits, so two batches (of two replicas, or two in flight) that each wait
// for a row the other holds would otherwise stall until deadlock detection (1 s) picks a victim.
inline constexpr int64_t kGroupCommitFollowerLockTimeoutMs = 200;
// PostgreSQL sessions. A statement waits at most this long for a row lock (a transaction stalled
// on a hot row such as position:USD must not freeze every exchange in that currency), and runs at
// most this long. A session idle inside a transaction this long (its client is stalled or cut off)
// is ended by the server, which releases its locks. Keepalives find a dead peer on both ends.
inline constexpr int64_t kPostgresLockTimeoutMs = 3'000;
inline constexpr int64_t kPostgresStatementTimeoutMs = 10'000;
inline constexpr int64_t kPostgresIdleInTransactionTimeoutMs = 5'000;
inline constexpr int64_t kPostgresConnectTimeoutMs = 5'000;
inline constexpr int64_t kPostgresKeepaliveIdleMs = 5'000;
inline constexpr int64_t kPostgresKeepaliveIntervalMs = 2'000;
inline constexpr int kPostgresKeepaliveCount = 3;
inline constexpr int64_t kPostgresTcpUserTimeoutMs = 10'000;

// Serving. Each service runs its database work on a bounded pool; past the queue bound a call
// is refused with UNAVAILABLE rather than queued without limit.
inline constexpr size_t kWorkerQueueDepthMax = 4'096;
// Threads running a ledger's calls (unless --workers says otherwise). Most of them wait for a
// group commit at any moment, so there are more than database sessions: enough to fill a batch.
inline constexpr size_t kLedgerWorkerThreads = 32;
inline constexpr int kShutdownGraceMs = 10'000;
// How often each service checks it can reach its database (and reports NOT_SERVING if not).
inline constexpr int64_t kHealthProbeIntervalMs = 2'000;

// gRPC. Every request is a handful of ids, amounts and short texts (each capped above), a few KiB
// at most: a server takes messages of at most kGrpcRequestBytesMax (gRPC's default, 4 MiB, would
// let any caller make it buffer that much per call) and at most kGrpcConcurrentStreamsMax calls at
// once on one connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS; gRPC's default is unlimited).
// So one connection holds at most their product of request bytes in a server. A gRPC client queues
// calls beyond the cap until one of its calls on that connection ends; other HTTP/2 clients are
// refused the extra streams. The cap is far above what fxmesh's own clients run at once on one
// connection (the coordinator's saga and recovery workers, kRelayCommandsInFlightMax in the relay).
inline constexpr int kGrpcRequestBytesMax = 256 * 1024;
inline constexpr int kGrpcConcurrentStreamsMax = 100;
// Answers can be long lists. The longest is a page of dead letters, each quoting up to
// kDeadLetterPayloadBytesMax of its payload; every client channel takes answers up to this size,
// so a wrong or hostile server cannot make a client buffer without limit either.
inline constexpr int kGrpcResponseBytesMax = 128 * 1024 * 1024;

// Transport security. Certificate, key and CA files are read again this often, so a rotated
// certificate is served (and trusted) without a restart.
inline constexpr int64_t kCertificateRefreshSecondsDefault = 60;

// Customer tokens (JWT): a longer `authorization` value is refused unread; `exp` and `nbf` are
// allowed this much clock difference between the token's issuer and the coordinator.
inline constexpr size_t kCustomerTokenBytesMax = 8 * 1024;
inline constexpr int64_t kCustomerTokenLeewaySeconds = 30;
// The per-customer rate of GetQuote and Exchange calls one coordinator replica accepts (a token
// bucket: this many per second, bursts up to kCustomerBurstDefault), and how many customers'
// buckets it keeps (the least recently used are dropped first; a dropped bucket starts full).
inline constexpr int kCustomerRequestsPerSecondDefault = 50;
inline constexpr int kCustomerBurstDefault = 100;
inline constexpr size_t kRateLimitedCustomersMax = 100'000;

// Text that came from outside and is quoted back (a dead letter's payload and error, a rejected
// id in a log line) is cut to this many bytes.
inline constexpr size_t kDeadLetterPayloadBytesMax = 64 * 1024;
inline constexpr size_t kQuotedTextBytesMax = 1'024;

// Listing.
inline constexpr int kListPageSizeDefault = 100;
inline constexpr int kListPageSizeMax = 1'000;

// Coordinator. A quote locks its rate this long; Trys are retried until the quote expires, then
// the saga cancels. Each ledger call has its own deadline; retries back off from min to max.
inline constexpr int64_t kQuoteTtlMsDefault = 30'000;
inline constexpr int64_t kLedgerCallTimeoutMs = 2'000;
// Reconnecting to a ledger that went away backs off between these bounds.
inline constexpr int64_t kLedgerReconnectBackoffMsMin = 100;
inline constexpr int64_t kLedgerReconnectBackoffMsMax = 1'000;
inline constexpr int64_t kRetryDelayMsMin = 200;
inline constexpr int64_t kRetryDelayMsMax = 30'000;
// A driver holds a saga this long without writing before another replica may take it over.
inline constexpr int64_t kSagaLeaseMs = 30'000;
inline constexpr int64_t kRecoveryIntervalMsDefault = 1'000;
inline constexpr int kRecoveryBatchMax = 64;
// Drives the recovery loop runs at once, on workers of their own; it claims no more due sagas
// than these can start now.
inline constexpr size_t kRecoveryWorkerThreads = 8;
inline constexpr int64_t kStuckAfterMsDefault = 5 * 60'000;
// How often the coordinator looks for sagas stuck that long.
inline constexpr int64_t kStuckCheckMs = 10'000;
// While a participant is paused its sagas are looked at again this often.
inline constexpr int64_t kPausedRecheckMs = 1'000;
// An Exchange call without a deadline waits at most this long for the outcome.
inline constexpr int64_t kExchangeWaitMsMax = 10'000;
// An answer is sent this long before the caller's deadline, so it arrives in time.
inline constexpr int64_t kResponseMarginMs = 100;
inline constexpr int64_t kDailyLimitKrwMinorDefault = 50'000'000;
inline constexpr int kWatchStreamsMax = 256;
inline constexpr int64_t kWatchPollMs = 200;
// Threads running customers' exchanges. Each waits on the ledgers' answers and on group commits
// for most of its exchange, so there are many more than cores: enough to fill the batches.
inline constexpr size_t kSagaWorkerThreads = 64;

// Outbox publishing: rows read per pass, rows produced but not yet acknowledged, how long Kafka
// may take to acknowledge one before it is produced again, and how long a pass waits for acks.
inline constexpr int kOutboxBatchMax = 500;
inline constexpr int kOutboxInFlightMax = 10'000;
inline constexpr int64_t kOutboxDeliveryTimeoutMs = 30'000;
inline constexpr int64_t kOutboxPollMs = 100;
// The publisher reads forward from a cursor, and sweeps the whole unsent outbox again this often:
// a row that commits after rows with higher ids (PostgreSQL assigns ids at insert) waits at most
// this long.
inline constexpr int64_t kOutboxRescanMs = 1'000;
// One replica at a time publishes the outbox (two would send every command twice): it holds the
// publisher role for kOutboxPublisherLeaseMs and renews it every kOutboxPublisherRenewMs; another
// replica takes over once the holder has stopped renewing for a whole lease.
inline constexpr int64_t kOutboxPublisherLeaseMs = 10'000;
inline constexpr int64_t kOutboxPublisherRenewMs = 2'000;

// Retention: the coordinator's pruner deletes what is finished once it is this old (each default
// is a --*_retention_ms flag): terminal sagas with their step log and resolutions (counted from
// the saga's last write), expired quotes (from their expiry), sent outbox rows (from sending) and
// replayed dead letters (from the replay). A pass deletes at most one batch of each kind, in one
// short transaction per kind; a kind with more waiting is pruned again after a pause, otherwise
// the pruner sleeps for the interval. A saga batch is smaller: each saga takes its steps along.
inline constexpr int64_t kDayMs = 24 * 3'600'000;
inline constexpr int64_t kSagaRetentionMsDefault = 30 * kDayMs;
inline constexpr int64_t kQuoteRetentionMsDefault = kDayMs;
inline constexpr int64_t kOutboxRetentionMsDefault = kDayMs;
inline constexpr int64_t kDeadLetterRetentionMsDefault = 30 * kDayMs;
// A saga's idempotency key goes with it; a retry with that key must by then find its quote
// expired (or pruned) and be refused, so sagas are kept far longer than any quote holds.
inline constexpr int64_t kSagaRetentionMsMin = kDayMs;
inline constexpr int64_t kPruneIntervalMs = 60'000;
inline constexpr int64_t kPrunePauseMs = 100;
inline constexpr int kPruneBatchMax = 500;
inline constexpr int kPruneSagaBatchMax = 100;

// Settling through the relay: a branch command with no result this long after it was sent is
// sent again (longer than the relay's retry tiers, 5 s + 30 s + 2 min + 10 min, take by default).
// A result the coordinator cannot apply yet (another driver holds the saga) is tried again after
// kResultRetryMs.
inline constexpr int64_t kRedispatchAfterMsDefault = 15 * 60'000;
// Sooner than that, the coordinator expects to hear about each command it sent: a result, or the
// relay's report that it moved the command to a retry tier (due at T). It expects the first word
// within the first tier's delay + a ledger call + this margin of the send, and each next word
// within T + a ledger call + this margin; past that, in silence, the command was lost (skipped by
// a consumer, or its message gone) and is sent again at once. The margin absorbs consumer lag and
// rebalances; a false alarm costs one duplicate command, which the ledgers' idempotency absorbs.
inline constexpr int64_t kRelaySilenceMarginMs = 10'000;
// How often the coordinator asks whether the relays have unread commands (their lag): while they
// do, a silent command is late, not lost.
inline constexpr int64_t kRelayBacklogCheckMs = 2'000;
// The relay's retry tiers, by default: a command whose ledger may not have seen it (down, timed
// out) waits this long in the next tier's topic (kafka::kRetryTiers names them); after the last,
// it is a dead letter.
inline constexpr std::array<int64_t, 4> kRelayTierDelaysMsDefault = {5'000, 30'000, 120'000,
                                                                     600'000};
inline constexpr int64_t kRelayFirstTierDelayMsDefault = kRelayTierDelaysMsDefault[0];
inline constexpr int64_t kRelayFirstWordAfterMs =
    kRelayFirstTierDelayMsDefault + kLedgerCallTimeoutMs + kRelaySilenceMarginMs;
// The relay waits this long for Kafka to take what a command led to, polling for its
// acknowledgements this often; a command whose outcome Kafka did not take is handled again after
// the pause.
inline constexpr int64_t kRelayPublishTimeoutMs = 30'000;
inline constexpr int64_t kRelayDeliveryPollMs = 50;
inline constexpr int64_t kRelayUnpublishedPauseMs = 1'000;
// How long one relay step waits for a command when none is in flight.
inline constexpr int64_t kRelayIdlePollMs = 100;
// Commands a relay executes at once (each a ledger call on a worker thread), and how long it polls
// Kafka for more while some are in flight, so their outcomes are published without delay.
inline constexpr int kRelayCommandsInFlightMax = 16;
inline constexpr int64_t kRelayBusyPollMs = 5;
// How long a producer holds a message to batch it with others (librdkafka's linger.ms). The
// outbox publisher sends many at once and gains from it; the relay publishes what its commands in
// flight led to as they end and waits for the acknowledgement, so any linger is pure delay there.
inline constexpr int64_t kProducerLingerMsDefault = 5;
// How long a broker may hold a consumer's fetch that found nothing (librdkafka's
// fetch.wait.max.ms, default 500). A real broker answers as soon as a message arrives; the
// embedded Kafka (librdkafka's mock cluster) answers only when this wait ends, so in development
// it is each hop's latency (commands to the relay, results back). A shorter wait costs only more
// empty fetches while idle.
inline constexpr int64_t kConsumerFetchWaitMs = 25;
inline constexpr int64_t kRelayProducerLingerMs = 0;
inline constexpr int64_t kResultRetryMs = 500;
inline constexpr int64_t kResultPollMs = 200;
// The coordinator's result consumer sets aside at most this many answers whose saga is busy (each
// comes back after kResultRetryMs), and commits what it applied at most this often while answers
// keep arriving (a crash in between only applies those again, which changes nothing).
inline constexpr size_t kResultsSetAsideMax = 1'000;
inline constexpr int64_t kResultCommitMs = 100;
// Messages it takes in one pass from what Kafka has already fetched; a saga's results among them
// are recorded in one write.
inline constexpr size_t kResultsBatchMax = 64;
// Without Kafka the coordinator's own relay (coordinator/local_relay.h) executes the commands: it
// holds at most this many waiting for a retry tier or a free worker (the rest wait in the
// outbox), and applies an answer whose saga is busy again after a pause that starts here and
// doubles up to kResultRetryMs.
inline constexpr int kLocalRelayCommandsHeldMax = 10'000;
inline constexpr int64_t kLocalRelayBusyRetryMsMin = 5;
// A customer whose exchange is decided waits for it to settle, and reads it again this often (its
// last answer may be applied by another replica).
inline constexpr int64_t kSettleRecheckMs = 200;
// Sagas a coordinator keeps as it last wrote them, so a relay answer about one is applied without
// reading it again (coordinator/written_sagas.h); about 1 KiB each.
inline constexpr size_t kWrittenSagasKeptMax = 4096;

// Consumers rewind a paused partition to the message that is not due yet. A rewind waits this
// long for the partition's broker; one that cannot finish is tried again this often, and the
// partition stays paused meanwhile (resuming it unrewound would skip the message).
inline constexpr int kKafkaSeekTimeoutMs = 5'000;
inline constexpr int64_t kKafkaRewindRetryMs = 1'000;

// Metrics endpoint (one connection at a time). A request head must arrive whole within the size
// and time below; the answer must be taken within the second time. After answering, the server
// waits this last time at most for the client to close, so the client reads the whole answer.
inline constexpr size_t kMetricsRequestBytesMax = 8 * 1024;
inline constexpr int64_t kMetricsRequestTimeoutMs = 5'000;
inline constexpr int64_t kMetricsResponseTimeoutMs = 10'000;
inline constexpr int64_t kMetricsCloseWaitMs = 1'000;
inline constexpr int kMetricsListenBacklog = 16;
// Spans each service keeps in memory for `fxmesh trace` (the oldest go first). The OTLP exporter
// sends batches this often, of at most this many spans, waits this long for the collector, and
// drops spans beyond this queue while the collector is away.
inline constexpr size_t kSpansKeptMax = 20'000;
inline constexpr int64_t kOtlpExportIntervalMs = 1'000;
inline constexpr size_t kOtlpBatchMax = 512;
inline constexpr int64_t kOtlpTimeoutMs = 2'000;
inline constexpr size_t kOtlpQueueMax = 10'000;

// A scrape's consumer-lag query gives up after this.
inline constexpr int64_t kLagQueryTimeoutMs = 2'000;
// After accept() fails for lack of resources (out of file descriptors), it is tried again after
// this.
inline constexpr int64_t kMetricsAcceptRetryMs = 100;

// The fxmesh command-line tool. Every call has a deadline (--timeout, this default, at most the
// max); `fxmesh watch` waits longer by default, because a saga retries its Trys until its quote
// expires and its Confirms until they succeed. On a terminal, a call that has run this long shows
// its progress, redrawn every tick. Lists stop at a limit (--limit, at most the max).
inline constexpr int64_t kCliTimeoutMsDefault = 10'000;
inline constexpr int64_t kCliWatchTimeoutMsDefault = 300'000;
// The customer tokens the tool signs in development (`fxmesh dev --tls`) hold this long.
inline constexpr int64_t kCliCustomerTokenSeconds = 300;
inline constexpr int64_t kCliTimeoutMsMax = 24 * 3'600'000;
inline constexpr int64_t kCliProgressAfterMs = 1'000;
inline constexpr int64_t kCliProgressTickMs = 100;
inline constexpr int kCliListLimitDefault = 50;
inline constexpr int kCliListLimitMax = 10'000;
// `fxmesh demo` polls a saga this often while it waits for it. A short wait (the coordinator's Try
// retries showing, an approval accepted) gives up after the first bound; a saga settling through
// the relay after the second. The stuck exchange's customer waits the third for an answer. The
// operators must resolve that saga while its quote still holds: after it expires, the coordinator
// would cancel the saga by itself.
inline constexpr int64_t kCliDemoPollMs = 100;
inline constexpr int64_t kCliDemoStepWaitMsMax = 10'000;
inline constexpr int64_t kCliDemoSettleWaitMsMax = 30'000;
inline constexpr int64_t kCliDemoStuckExchangeTimeoutMs = 2'000;

// The embedded Kafka's fixed bootstrap port forwards at most this many connections at once (a dev
// mesh opens a handful), copying through a buffer of this size, and checks this often whether it
// is being stopped.
inline constexpr size_t kEmbeddedKafkaBootstrapConnectionsMax = 256;
inline constexpr size_t kEmbeddedKafkaBootstrapBufferBytes = 64 * 1024;
inline constexpr int kEmbeddedKafkaBootstrapPollMs = 200;
inline constexpr int kEmbeddedKafkaBootstrapBacklog = 64;
// Its fault injection: a broker's added latency, and the requests failed by one call, at most.
inline constexpr int32_t kEmbeddedKafkaLatencyMsMax = 600'000;
inline constexpr int32_t kEmbeddedKafkaFailedRequestsMax = 10'000;

// `fxmesh dev` supervises its services. A service that exits on its own is started again after a
// delay that doubles from the min to the max with each crash in a row; one that stayed up for the
// stable time has its count cleared. After this many crashes in a row the launcher gives up and
// stops the mesh. A (re)started service must report SERVING within the start timeout.
inline constexpr int64_t kDevRestartDelayMsMin = 500;
inline constexpr int64_t kDevRestartDelayMsMax = 8'000;
inline constexpr int64_t kDevStableUptimeMs = 60'000;
inline constexpr int kDevCrashesInRowMax = 5;
inline constexpr int64_t kDevStartTimeoutMs = 30'000;
inline constexpr int64_t kDevSupervisePollMs = 200;

static_assert(kAmountMinorMax < INT64_MAX / 1'000, "room to sum a thousand maximal amounts");
static_assert(kListPageSizeDefault <= kListPageSizeMax);
static_assert(kSqliteBusyTimeoutMs < kShutdownGraceMs);
static_assert(kPostgresLockTimeoutMs < kPostgresStatementTimeoutMs);
static_assert(kPostgresConnectTimeoutMs % 1'000 == 0 && kPostgresKeepaliveIdleMs % 1'000 == 0 &&
                  kPostgresKeepaliveIntervalMs % 1'000 == 0,
              "libpq and the server take these in whole seconds");
static_assert(kRetryDelayMsMin < kRetryDelayMsMax);
static_assert(kLedgerCallTimeoutMs * 4 < kSagaLeaseMs,
              "a drive step must finish well within its lease");
static_assert(kResponseMarginMs < kLedgerCallTimeoutMs);
static_assert(kOutboxBatchMax <= kOutboxInFlightMax);
static_assert(kOutboxPublisherRenewMs * 3 <= kOutboxPublisherLeaseMs,
              "the publisher renews its role several times within one lease");
static_assert(kQuoteTtlMsDefault < kSagaRetentionMsMin &&
                  kSagaRetentionMsMin <= kSagaRetentionMsDefault,
              "a retried exchange finds its quote expired before its saga is pruned");
static_assert(kPrunePauseMs < kPruneIntervalMs);
static_assert(kPruneSagaBatchMax <= kPruneBatchMax);
static_assert(kRelayFirstWordAfterMs < kRedispatchAfterMsDefault,
              "a lost command is sent again long before the safety net");
static_assert(
    [] {
      int64_t through_every_tier = 0;
      for (int64_t delay : kRelayTierDelaysMsDefault) {
        if (delay <= 0) return false;
        through_every_tier += delay + kLedgerCallTimeoutMs;
      }
      return through_every_tier + kLedgerCallTimeoutMs < kRedispatchAfterMsDefault;
    }(),
    "a command still working through the relay's tiers is never sent again by the safety net");
static_assert(kRelayBusyPollMs < kRelayIdlePollMs && kRelayIdlePollMs < kResultRetryMs);
static_assert(kLocalRelayBusyRetryMsMin < kResultRetryMs &&
              kOutboxBatchMax <= kLocalRelayCommandsHeldMax);
static_assert(kStuckCheckMs * 6 <= kStuckAfterMsDefault,
              "a saga is reported stuck soon after it passes the threshold");
static_assert(kCliTimeoutMsDefault <= kCliWatchTimeoutMsDefault &&
              kCliWatchTimeoutMsDefault <= kCliTimeoutMsMax);
static_assert(kCliProgressTickMs < kCliProgressAfterMs);
static_assert(kCliListLimitDefault <= kListPageSizeMax && kCliListLimitDefault <= kCliListLimitMax);
static_assert(kCliDemoStuckExchangeTimeoutMs + 2 * kCliDemoStepWaitMsMax < kQuoteTtlMsDefault,
              "the demo's operators resolve the stuck saga before its quote expires");
static_assert(kDevRestartDelayMsMin < kDevRestartDelayMsMax &&
                  kDevRestartDelayMsMax < kDevStableUptimeMs,
              "a service restarted after the longest delay can still prove itself stable");
static_assert(kDevSupervisePollMs < kDevRestartDelayMsMin);
static_assert(static_cast<int64_t>(kGrpcConcurrentStreamsMax) * kGrpcRequestBytesMax <=
                  64 * 1024 * 1024,
              "one connection cannot make a server buffer more than 64 MiB of requests");
static_assert(static_cast<int64_t>(kListPageSizeMax) *
                      (kDeadLetterPayloadBytesMax + 4 * kQuotedTextBytesMax + 1'024) <
                  kGrpcResponseBytesMax,
              "a full page of dead letters fits in one answer");
static_assert(kCliDemoPollMs < kCliDemoStepWaitMsMax &&
              kCliDemoStepWaitMsMax <= kCliDemoSettleWaitMsMax);

}  // namespace fxmesh::limits
