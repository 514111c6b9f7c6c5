package dev.vigil.server;

import dev.vigil.server.serving.Device;
import picocli.CommandLine.IModelTransformer;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.nio.file.Path;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * The server's command-line flags, one row each: the flag, its help text and the {@link ServerOptions} value it
 * sets. A flag's default is the builder's, so the help shows what a server started without the flag uses.
 */
final class ServerFlags implements IModelTransformer {
    private static final ServerOptions DEFAULTS = ServerOptions.builder().build();

    /** A flag: {@code label} names its value in the help, {@code value} reads the default from the options. */
    private record Flag<T>(String name, String label, Class<T> type, Function<ServerOptions, T> value,
                           BiConsumer<ServerOptions.Builder, T> set, String description) {
        OptionSpec option() {
            return OptionSpec.builder(name).paramLabel("<" + label + ">").type(type).description(description)
                    .initialValue(value.apply(DEFAULTS)).hasInitialValue(true).build();
        }

        void apply(CommandSpec command, ServerOptions.Builder options) {
            set.accept(options, command.findOption(name).getValue());
        }
    }

    private static final List<Flag<?>> FLAGS = List.of(
            new Flag<>("--models", "models", Path.class, ServerOptions::modelsDir, ServerOptions.Builder::modelsDir,
                    "model repository directory (default: ${DEFAULT-VALUE})"),
            new Flag<>("--port", "port", int.class, ServerOptions::port, ServerOptions.Builder::port,
                    "port; 0 picks a free one (default: ${DEFAULT-VALUE})"),
            new Flag<>("--host", "host", String.class, ServerOptions::host, ServerOptions.Builder::host,
                    "address to bind (default: ${DEFAULT-VALUE})"),
            new Flag<>("--device", "device", String.class, o -> null, (b, v) -> b.device(Device.parse(v)),
                    "cpu, cuda or cuda:<id> (default: CUDA when its execution provider loads, else CPU)"),
            new Flag<>("--max-body-bytes", "maxBodyBytes", long.class, ServerOptions::maxBodyBytes,
                    ServerOptions.Builder::maxBodyBytes, "largest request body; 413 above (default: ${DEFAULT-VALUE})"),
            new Flag<>("--max-batch-size", "maxBatchSize", int.class, ServerOptions::maxBatchSize,
                    ServerOptions.Builder::maxBatchSize, "batch limit; a model's config.json max_batch_size "
                    + "overrides it; 400 above (default: ${DEFAULT-VALUE})"),
            new Flag<>("--max-sequence-length", "maxSequenceLength", int.class, ServerOptions::maxSequenceLength,
                    ServerOptions.Builder::maxSequenceLength, "token limit of a text input (special tokens "
                    + "included) and of the token axis of tensor token inputs; 400 above, never truncated "
                    + "(default: ${DEFAULT-VALUE})"),
            new Flag<>("--max-inflight", "maxInflight", int.class, ServerOptions::maxInflight,
                    ServerOptions.Builder::maxInflight, "inference requests run at once (default: ${DEFAULT-VALUE})"),
            new Flag<>("--max-queue", "maxQueue", int.class, ServerOptions::maxQueue, ServerOptions.Builder::maxQueue,
                    "requests that may wait for a slot; 503 beyond (default: ${DEFAULT-VALUE})"),
            new Flag<>("--intra-op-threads", "intraOpThreads", int.class, ServerOptions::intraOpThreads,
                    ServerOptions.Builder::intraOpThreads, "ONNX Runtime threads per model run; 0 lets ORT choose "
                    + "(default: ${DEFAULT-VALUE})"),
            new Flag<>("--probe-queue", "probeQueue", int.class, ServerOptions::probeQueue,
                    ServerOptions.Builder::probeQueue, "probed requests that may wait for a probe worker; beyond "
                    + "(after --probe-wait-ms), they are not probed and count in vigil_probe_dropped_total "
                    + "(default: ${DEFAULT-VALUE})"),
            new Flag<>("--probe-workers", "probeWorkers", int.class, ServerOptions::probeWorkers,
                    ServerOptions.Builder::probeWorkers, "threads that add probed requests to the statistics, one "
                    + "model at a time each (default: ${DEFAULT-VALUE})"),
            new Flag<>("--probe-wait-ms", "probeWaitMs", long.class, ServerOptions::probeWaitMs,
                    ServerOptions.Builder::probeWaitMs, "how long a sampled request may wait for a tap buffer set "
                    + "before its run, and for room in the probe queue after it, before it is not probed; 0 drops "
                    + "at once (default: ${DEFAULT-VALUE})"),
            new Flag<>("--probe-warmup-ms", "probeWarmUpMs", long.class, ServerOptions::probeWarmUpMs,
                    ServerOptions.Builder::probeWarmUpMs, "the most time each probed model's statistics are warmed up "
                    + "on a synthetic request at load, before the server listens, so that the first probed requests "
                    + "are not dropped while the JIT compiles them; 0 skips it (default: ${DEFAULT-VALUE})"),
            new Flag<>("--probe-buffer-mb", "probeBufferMb", long.class, ServerOptions::probeBufferMb,
                    ServerOptions.Builder::probeBufferMb, "MiB of direct memory that the reused tap buffers of all "
                    + "models may hold together; a probed request that does not fit is not probed "
                    + "(default: ${DEFAULT-VALUE})"),
            new Flag<>("--probe-copy-mb", "probeCopyMb", long.class, ServerOptions::probeCopyMb,
                    ServerOptions.Builder::probeCopyMb, "MiB of heap that copies of taps ONNX Runtime allocated (a "
                    + "model's first probed run, taps that are graph inputs or outputs or whose shapes do not follow "
                    + "the batch) may take together; a probed request whose copies do not fit is not probed "
                    + "(default: ${DEFAULT-VALUE})"),
            new Flag<>("--max-header-bytes", "maxHeaderBytes", int.class, ServerOptions::maxHeaderBytes,
                    ServerOptions.Builder::maxHeaderBytes, "request line and headers together; 431 (or 414 for "
                    + "the URI) above (default: ${DEFAULT-VALUE})"),
            new Flag<>("--idle-timeout-ms", "idleTimeoutMs", long.class, ServerOptions::idleTimeoutMs,
                    ServerOptions.Builder::idleTimeoutMs, "a connection silent this long is closed; 408 while a "
                    + "request body is read (default: ${DEFAULT-VALUE})"),
            new Flag<>("--header-timeout-ms", "headerTimeoutMs", long.class, ServerOptions::headerTimeoutMs,
                    ServerOptions.Builder::headerTimeoutMs, "a request's line and headers must arrive within this "
                    + "time of its first byte; 408 after (default: ${DEFAULT-VALUE})"),
            new Flag<>("--max-connections", "maxConnections", int.class, ServerOptions::maxConnections,
                    ServerOptions.Builder::maxConnections, "connections open at once, fewer when the open-file "
                    + "limit is lower; beyond, new connections wait to be accepted and idle ones are closed after "
                    + "1 s (default: ${DEFAULT-VALUE})"),
            new Flag<>("--shutdown-timeout-ms", "shutdownTimeoutMs", long.class, ServerOptions::shutdownTimeoutMs,
                    ServerOptions.Builder::shutdownTimeoutMs, "on SIGTERM, how long the inference requests in "
                    + "progress may finish while new ones get 503 and readiness fails (default: ${DEFAULT-VALUE})"),
            new Flag<>("--body-timeout-ms", "bodyTimeoutMs", long.class, ServerOptions::bodyTimeoutMs,
                    ServerOptions.Builder::bodyTimeoutMs, "a request body must arrive whole within this time of its "
                    + "headers; 408 after (default: ${DEFAULT-VALUE})"),
            new Flag<>("--body-budget-mb", "bodyBudgetMb", long.class, ServerOptions::bodyBudgetMb,
                    ServerOptions.Builder::bodyBudgetMb, "MiB that request bodies in progress and the tensors "
                    + "decoded from them may take together; 503 beyond, 413 for one request over it "
                    + "(default: ${DEFAULT-VALUE})"),
            new Flag<>("--quant-report-requests", "reportRequests", int.class, ServerOptions::reportRequests,
                    ServerOptions.Builder::reportRequests, "probed runs each model keeps recorded for "
                    + "GET /quantized/report's sweeps; 0 records none (default: ${DEFAULT-VALUE})"),
            new Flag<>("--quant-report-request-bytes", "reportRequestBytes", long.class,
                    ServerOptions::reportRequestBytes, ServerOptions.Builder::reportRequestBytes, "a run whose "
                    + "inputs are larger is not recorded (default: ${DEFAULT-VALUE})"),
            new Flag<>("--quant-report-interval-s", "reportIntervalS", long.class, ServerOptions::reportIntervalS,
                    ServerOptions.Builder::reportIntervalS, "a model's report sweeps again for a newer window only "
                    + "this long after its last sweep (default: ${DEFAULT-VALUE})"),
            new Flag<>("--max-attention-map-tokens", "maxAttentionMapTokens", int.class,
                    ServerOptions::maxAttentionMapTokens, ServerOptions.Builder::maxAttentionMapTokens, "the most "
                    + "tokens an inspect_attention map may have (the request's first sequence, unmasked); 400 above "
                    + "(default: ${DEFAULT-VALUE})"));

    /** Adds the flags to the {@code vigil} command (picocli calls this once it has read Main's annotations). */
    @Override
    public CommandSpec transform(CommandSpec command) {
        for (Flag<?> flag : FLAGS) {
            command.addOption(flag.option());
        }
        return command;
    }

    /**
     * The options the parsed flags give.
     *
     * @throws IllegalArgumentException naming the flag value that is out of range
     */
    static ServerOptions options(CommandSpec command) {
        ServerOptions.Builder options = ServerOptions.builder();
        for (Flag<?> flag : FLAGS) {
            flag.apply(command, options);
        }
        return options.build();
    }
}
