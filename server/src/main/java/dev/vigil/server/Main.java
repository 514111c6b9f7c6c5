package dev.vigil.server;

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

    @Option(names = "--max-sequence-length", description = "token limit of a text input, special tokens "
            + "included; 400 above, never truncated (default: ${DEFAULT-VALUE})")
    int maxSequenceLength = DEFAULTS.maxSequenceLength();

    @Option(names = "--max-inflight", description = "inference requests run at once (default: ${DEFAULT-VALUE})")
    int maxInflight = DEFAULTS.maxInflight();

    @Option(names = "--max-queue", description = "requests that may wait for a slot; 503 beyond "
            + "(default: ${DEFAULT-VALUE})")
    int maxQueue = DEFAULTS.maxQueue();

    @Option(names = "--intra-op-threads", description = "ONNX Runtime threads per model run; 0 lets ORT "
            + "choose (default: ${DEFAULT-VALUE})")
    int intraOpThreads = DEFAULTS.intraOpThreads();

    @Option(names = "--probe-queue", description = "probed requests that may wait for the probe worker; beyond, "
            + "they are not probed and count in vigil_probe_dropped_total (default: ${DEFAULT-VALUE})")
    int probeQueue = DEFAULTS.probeQueue();

    @Option(names = "--probe-buffer-mb", description = "MiB of direct memory that the reused tap buffers of all "
            + "models may hold together; a probed request that does not fit is not probed "
            + "(default: ${DEFAULT-VALUE})")
    long probeBufferMb = DEFAULTS.probeBufferMb();

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
            options = new ServerOptions(models, host, port, Device.parse(device), maxBodyBytes, maxBatchSize,
                    maxSequenceLength, maxInflight, maxQueue, intraOpThreads, probeQueue, probeBufferMb);
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
        server.start();
        stopped.await();
        return 0;
    }
}
