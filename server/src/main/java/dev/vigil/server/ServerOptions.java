package dev.vigil.server;

import dev.vigil.server.serving.Device;

import java.nio.file.Path;

/**
 * How a {@link VigilServer} runs. {@link #builder()} starts from the defaults the CLI documents.
 *
 * @param modelsDir         the model repository
 * @param host              the address to bind
 * @param port              the port; 0 picks a free one
 * @param device            where models run
 * @param maxBodyBytes      the largest request body (413 above)
 * @param maxBatchSize      batch limit of models whose config.json sets none (400 above)
 * @param maxSequenceLength token limit for text and token tensor inputs of models whose config.json sets none
 *                          (400 above)
 * @param maxInflight       inference requests run at once
 * @param maxQueue          requests that may wait for a slot (503 beyond)
 * @param intraOpThreads    ONNX Runtime intra-op threads per session; 0 lets ORT choose
 * @param probeQueue        probed requests that may wait for a probe worker; beyond (after {@code probeWaitMs}),
 *                          they are dropped (counted)
 * @param probeBufferMb     MiB of direct memory that all models' reused tap buffers may hold together
 * @param maxHeaderBytes    the request line and headers together (431 or 414 above)
 * @param idleTimeoutMs     a connection on which nothing arrives for this long is closed (408 while a body is read)
 * @param bodyTimeoutMs     a request body must arrive whole within this time of its headers (408 after)
 * @param bodyBudgetMb      MiB that the bodies of all requests in progress, and the tensors decoded from them, may
 *                          take together (503 beyond)
 * @param reportRequests    probed runs each model keeps recorded for the quantization report's sweeps (0: none, and
 *                          no report)
 * @param reportRequestBytes the largest run's inputs that may be recorded
 * @param reportIntervalS   a model's report sweeps its recorded runs again for a newer window only this many
 *                          seconds after its last sweep
 * @param maxAttentionMapTokens the most tokens an {@code inspect_attention} map may have (its side: the request's
 *                          first sequence, unmasked tokens); 400 above, before the run
 * @param probeWorkers      threads that add probed requests to the statistics (one model at a time each)
 * @param probeWaitMs       how long a sampled request may wait for a tap buffer set before its run, and for room in
 *                          the probe queue after it, before it is dropped from the statistics; 0 drops at once
 * @param probeWarmUpMs     the most time each probed model's statistics are warmed up at load, before the server
 *                          listens; 0 skips the warm-up
 * @param headerTimeoutMs   a request's line and headers must arrive within this time of its first byte (408 after)
 * @param maxConnections    connections open at once (fewer when the open-file limit is lower); beyond, new
 *                          connections wait in the operating system's backlog
 * @param shutdownTimeoutMs how long a stopping server lets the inference requests in progress finish (new ones get
 *                          503 and readiness fails meanwhile)
 * @param probeCopyMb       MiB of heap that copies of taps ONNX Runtime allocated may take together until the
 *                          statistics have read them; a probed request whose copies do not fit is not probed
 */
public record ServerOptions(Path modelsDir, String host, int port, Device device, long maxBodyBytes,
                            int maxBatchSize, int maxSequenceLength, int maxInflight, int maxQueue,
                            int intraOpThreads, int probeQueue, long probeBufferMb, int maxHeaderBytes,
                            long idleTimeoutMs, long bodyTimeoutMs, long bodyBudgetMb, int reportRequests,
                            long reportRequestBytes, long reportIntervalS, int maxAttentionMapTokens,
                            int probeWorkers, long probeWaitMs, long probeWarmUpMs, long probeCopyMb,
                            long headerTimeoutMs, int maxConnections, long shutdownTimeoutMs) {

    public ServerOptions {
        require(port >= 0 && port <= 65535, "port must be 0..65535");
        require(maxBodyBytes > 0 && maxBodyBytes <= Integer.MAX_VALUE - 8, "max body bytes must be 1..2^31-9");
        require(maxBatchSize > 0, "max batch size must be positive");
        require(maxSequenceLength > 0, "max sequence length must be positive");
        require(maxInflight > 0, "max in-flight must be positive");
        require(maxQueue >= 0, "max queue must not be negative");
        require(intraOpThreads >= 0, "intra-op threads must not be negative");
        require(probeQueue > 0, "probe queue must be positive");
        require(probeBufferMb > 0 && probeBufferMb <= 1L << 30, "probe buffer MiB must be 1..2^30");
        require(maxHeaderBytes >= 1024 && maxHeaderBytes <= 1 << 20, "max header bytes must be 1024..1048576");
        require(idleTimeoutMs > 0, "idle timeout must be positive");
        require(bodyTimeoutMs > 0, "body timeout must be positive");
        require(bodyBudgetMb > 0 && bodyBudgetMb <= 1L << 30, "body budget MiB must be 1..2^30");
        require(reportRequests >= 0 && reportRequests <= 1024, "quant report requests must be 0..1024");
        require(reportRequestBytes > 0 && reportRequestBytes <= 1L << 30, "quant report request bytes must be "
                + "1..2^30");
        require(reportIntervalS >= 0, "quant report interval must not be negative");
        require(maxAttentionMapTokens > 0, "max attention map tokens must be positive");
        require(probeWorkers >= 1 && probeWorkers <= 64, "probe workers must be 1..64");
        require(probeWaitMs >= 0 && probeWaitMs <= 60_000, "probe wait ms must be 0..60000");
        require(probeWarmUpMs >= 0 && probeWarmUpMs <= 600_000, "probe warm-up ms must be 0..600000");
        require(probeCopyMb > 0 && probeCopyMb <= 1L << 30, "probe copy MiB must be 1..2^30");
        require(headerTimeoutMs > 0, "header timeout must be positive");
        require(maxConnections >= 1 && maxConnections <= 1_000_000, "max connections must be 1..1000000");
        require(shutdownTimeoutMs >= 0 && shutdownTimeoutMs <= 3_600_000, "shutdown timeout ms must be 0..3600000");
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** A builder holding the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link ServerOptions}; every setter is optional. */
    public static final class Builder {
        private Path modelsDir = Path.of("models");
        private String host = "127.0.0.1";
        private int port = 8080;
        private Device device = Device.auto();
        private long maxBodyBytes = 64L << 20;
        private int maxBatchSize = 8;
        private int maxSequenceLength = 512;
        private int maxInflight = 4;
        private int maxQueue = 64;
        private int intraOpThreads = 0;
        private int probeQueue = 16;
        private long probeBufferMb = 1024;
        private long probeCopyMb = 256;
        private long headerTimeoutMs = 20_000;
        private int maxConnections = 4096;
        private long shutdownTimeoutMs = 25_000;
        private int maxHeaderBytes = 8192;
        private long idleTimeoutMs = 30_000;
        private long bodyTimeoutMs = 60_000;
        private long bodyBudgetMb = 512;
        private int reportRequests = 16;
        private int probeWorkers = 2;
        private long probeWaitMs = 250;
        private long probeWarmUpMs = 10_000;
        private long reportRequestBytes = 1L << 20;
        private long reportIntervalS = 600;
        private int maxAttentionMapTokens = 512;

        public Builder modelsDir(Path v) { modelsDir = v; return this; }
        public Builder host(String v) { host = v; return this; }
        public Builder port(int v) { port = v; return this; }
        public Builder device(Device v) { device = v; return this; }
        public Builder maxBodyBytes(long v) { maxBodyBytes = v; return this; }
        public Builder maxBatchSize(int v) { maxBatchSize = v; return this; }
        public Builder maxSequenceLength(int v) { maxSequenceLength = v; return this; }
        public Builder maxInflight(int v) { maxInflight = v; return this; }
        public Builder maxQueue(int v) { maxQueue = v; return this; }
        public Builder intraOpThreads(int v) { intraOpThreads = v; return this; }
        public Builder probeQueue(int v) { probeQueue = v; return this; }
        public Builder probeBufferMb(long v) { probeBufferMb = v; return this; }
        public Builder probeCopyMb(long v) { probeCopyMb = v; return this; }
        public Builder headerTimeoutMs(long v) { headerTimeoutMs = v; return this; }
        public Builder maxConnections(int v) { maxConnections = v; return this; }
        public Builder shutdownTimeoutMs(long v) { shutdownTimeoutMs = v; return this; }
        public Builder maxHeaderBytes(int v) { maxHeaderBytes = v; return this; }
        public Builder idleTimeoutMs(long v) { idleTimeoutMs = v; return this; }
        public Builder bodyTimeoutMs(long v) { bodyTimeoutMs = v; return this; }
        public Builder bodyBudgetMb(long v) { bodyBudgetMb = v; return this; }
        public Builder reportRequests(int v) { reportRequests = v; return this; }
        public Builder probeWorkers(int v) { probeWorkers = v; return this; }
        public Builder probeWaitMs(long v) { probeWaitMs = v; return this; }
        public Builder probeWarmUpMs(long v) { probeWarmUpMs = v; return this; }
        public Builder reportRequestBytes(long v) { reportRequestBytes = v; return this; }
        public Builder reportIntervalS(long v) { reportIntervalS = v; return this; }
        public Builder maxAttentionMapTokens(int v) { maxAttentionMapTokens = v; return this; }

        public ServerOptions build() {
            return new ServerOptions(modelsDir, host, port, device, maxBodyBytes, maxBatchSize, maxSequenceLength,
                    maxInflight, maxQueue, intraOpThreads, probeQueue, probeBufferMb, maxHeaderBytes, idleTimeoutMs,
                    bodyTimeoutMs, bodyBudgetMb, reportRequests, reportRequestBytes, reportIntervalS,
                    maxAttentionMapTokens, probeWorkers, probeWaitMs, probeWarmUpMs, probeCopyMb, headerTimeoutMs,
                    maxConnections, shutdownTimeoutMs);
        }
    }
}
