package dev.vigil.server;

import dev.vigil.server.serving.Device;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** The {@code vigil} command: serves a model repository until the process is stopped. */
@Command(name = "vigil", mixinStandardHelpOptions = true, version = "vigil 0.1.0",
        description = "Serves the ONNX models of a model repository over the KServe v2 REST protocol.")
public final class Main implements Callable<Integer> {
    private static final ServerOptions DEFAULTS = ServerOptions.builder().build();

    @Option(names = "--models", description = "model repository directory (default: ${DEFAULT-VALUE})")
    Path models = DEFAULTS.modelsDir();

    @Option(names = "--port", description = "port; 0 picks a free one (default: ${DEFAULT-VALUE})")
    int port = DEFAULTS.port();

    @Option(names = "--host", description = "address to bind (default: ${DEFAULT-VALUE})")
    String host = DEFAULTS.host();

    @Option(names = "--device", description = "cpu, cuda or cuda:<id> (default: CUDA when its execution "
            + "provider loads, else CPU)")
    String device;

    @Option(names = "--max-body-bytes", description = "largest request body; 413 above (default: ${DEFAULT-VALUE})")
    long maxBodyBytes = DEFAULTS.maxBodyBytes();

    @Option(names = "--max-batch-size", description = "batch limit; a model's config.json max_batch_size "
            + "overrides it; 400 above (default: ${DEFAULT-VALUE})")
    int maxBatchSize = DEFAULTS.maxBatchSize();

    @Option(names = "--max-sequence-length", description = "token limit of a text input (special tokens "
            + "included) and of the token axis of tensor token inputs; 400 above, never truncated "
            + "(default: ${DEFAULT-VALUE})")
    int maxSequenceLength = DEFAULTS.maxSequenceLength();

    @Option(names = "--max-inflight", description = "inference requests run at once (default: ${DEFAULT-VALUE})")
    int maxInflight = DEFAULTS.maxInflight();

    @Option(names = "--max-queue", description = "requests that may wait for a slot; 503 beyond "
            + "(default: ${DEFAULT-VALUE})")
    int maxQueue = DEFAULTS.maxQueue();

    @Option(names = "--intra-op-threads", description = "ONNX Runtime threads per model run; 0 lets ORT "
            + "choose (default: ${DEFAULT-VALUE})")
    int intraOpThreads = DEFAULTS.intraOpThreads();

    @Option(names = "--probe-queue", description = "probed requests that may wait for a probe worker; beyond "
            + "(after --probe-wait-ms), they are not probed and count in vigil_probe_dropped_total "
            + "(default: ${DEFAULT-VALUE})")
    int probeQueue = DEFAULTS.probeQueue();

    @Option(names = "--probe-workers", description = "threads that add probed requests to the statistics, one "
            + "model at a time each (default: ${DEFAULT-VALUE})")
    int probeWorkers = DEFAULTS.probeWorkers();

    @Option(names = "--probe-wait-ms", description = "how long a sampled request may wait for a tap buffer set "
            + "before its run, and for room in the probe queue after it, before it is not probed; 0 drops at once "
            + "(default: ${DEFAULT-VALUE})")
    long probeWaitMs = DEFAULTS.probeWaitMs();

    @Option(names = "--probe-warmup-ms", description = "the most time each probed model's statistics are warmed "
            + "up on a synthetic request at load, before the server listens, so that the first probed requests are "
            + "not dropped while the JIT compiles them; 0 skips it (default: ${DEFAULT-VALUE})")
    long probeWarmUpMs = DEFAULTS.probeWarmUpMs();

    @Option(names = "--probe-buffer-mb", description = "MiB of direct memory that the reused tap buffers of all "
            + "models may hold together; a probed request that does not fit is not probed "
            + "(default: ${DEFAULT-VALUE})")
    long probeBufferMb = DEFAULTS.probeBufferMb();

    @Option(names = "--max-header-bytes", description = "request line and headers together; 431 (or 414 for "
            + "the URI) above (default: ${DEFAULT-VALUE})")
    int maxHeaderBytes = DEFAULTS.maxHeaderBytes();

    @Option(names = "--idle-timeout-ms", description = "a connection silent this long is closed; 408 while a "
            + "request body is read (default: ${DEFAULT-VALUE})")
    long idleTimeoutMs = DEFAULTS.idleTimeoutMs();

    @Option(names = "--body-timeout-ms", description = "a request body must arrive whole within this time of its "
            + "headers; 408 after (default: ${DEFAULT-VALUE})")
    long bodyTimeoutMs = DEFAULTS.bodyTimeoutMs();

    @Option(names = "--body-budget-mb", description = "MiB that request bodies in progress and the tensors decoded "
            + "from them may take together; 503 beyond, 413 for one request over it (default: ${DEFAULT-VALUE})")
    long bodyBudgetMb = DEFAULTS.bodyBudgetMb();

    @Option(names = "--quant-report-requests", description = "probed runs each model keeps recorded for "
            + "GET /quantized/report's sweeps; 0 records none (default: ${DEFAULT-VALUE})")
    int reportRequests = DEFAULTS.reportRequests();

    @Option(names = "--quant-report-request-bytes", description = "a run whose inputs are larger is not recorded "
            + "(default: ${DEFAULT-VALUE})")
    long reportRequestBytes = DEFAULTS.reportRequestBytes();

    @Option(names = "--quant-report-interval-s", description = "a model's report sweeps again for a newer window "
            + "only this long after its last sweep (default: ${DEFAULT-VALUE})")
    long reportIntervalS = DEFAULTS.reportIntervalS();

    @Option(names = "--max-attention-map-tokens", description = "the most tokens an inspect_attention map may have "
            + "(the request's first sequence, unmasked); 400 above (default: ${DEFAULT-VALUE})")
    int maxAttentionMapTokens = DEFAULTS.maxAttentionMapTokens();

    public static void main(String[] args) {
        // Before any DJL class loads: DJL must never reach the network (telemetry, native downloads).
        System.setProperty("ai.djl.offline", "true");
        System.setProperty("OPT_OUT_TRACKING", "true");
        System.exit(new CommandLine(new Main()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        ServerOptions options;
        try {
            options = ServerOptions.builder().modelsDir(models).host(host).port(port).device(Device.parse(device))
                    .maxBodyBytes(maxBodyBytes).maxBatchSize(maxBatchSize).maxSequenceLength(maxSequenceLength)
                    .maxInflight(maxInflight).maxQueue(maxQueue).intraOpThreads(intraOpThreads)
                    .probeQueue(probeQueue).probeBufferMb(probeBufferMb).maxHeaderBytes(maxHeaderBytes)
                    .idleTimeoutMs(idleTimeoutMs).bodyTimeoutMs(bodyTimeoutMs).bodyBudgetMb(bodyBudgetMb)
                    .reportRequests(reportRequests).reportRequestBytes(reportRequestBytes)
                    .reportIntervalS(reportIntervalS).maxAttentionMapTokens(maxAttentionMapTokens)
                    .probeWorkers(probeWorkers).probeWaitMs(probeWaitMs).probeWarmUpMs(probeWarmUpMs).build();
        } catch (IllegalArgumentException e) {
            System.err.println("vigil: " + e.getMessage());
            return 2;
        }
        VigilServer server = new VigilServer(options);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "vigil-shutdown"));
        try {
            server.start();
        } catch (StartupException e) {
            System.err.println("vigil: " + e.getMessage());
            return 1;
        }
        stopped.await();
        return 0;
    }
}
