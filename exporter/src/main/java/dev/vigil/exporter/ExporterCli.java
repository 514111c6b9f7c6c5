package dev.vigil.exporter;

import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Command line: {@code train} a classifier and export it, count {@code params} across sequence lengths,
 * {@code bench} the ONNX Runtime throughput of attention vs the EFT, or {@code evaluate} served models
 * through Vigil's HTTP API and read its probe metrics.
 */
@Command(name = "vigil-exporter", mixinStandardHelpOptions = true,
        description = "Trains encoder classifiers (prenorm, postnorm, eft) with DJL and exports them to ONNX.",
        subcommands = {ExporterCli.Train.class, ExporterCli.Params.class, ExporterCli.Bench.class,
                ExporterCli.Evaluate.class})
public final class ExporterCli {

    /** Model shape options shared by both subcommands. */
    static final class Shape {
        @Option(names = "--dim", defaultValue = "64", description = "Model width (default: ${DEFAULT-VALUE}).")
        int dim;
        @Option(names = "--layers", defaultValue = "2", description = "Encoder layers (default: ${DEFAULT-VALUE}).")
        int layers;
        @Option(names = "--heads", defaultValue = "4", description = "Attention heads; must divide --dim (default: ${DEFAULT-VALUE}).")
        int heads;
        @Option(names = "--mlp-dim", defaultValue = "128", description = "Feed-forward hidden width (default: ${DEFAULT-VALUE}).")
        int mlpDim;
        @Option(names = "--classes", defaultValue = "8", description = "Output classes = value tokens of the task (default: ${DEFAULT-VALUE}).")
        int classes;
        @Option(names = "--keys", defaultValue = "8", description = "Distinct key tokens of the task (default: ${DEFAULT-VALUE}).")
        int keys;
        @Option(names = "--noise", defaultValue = "16", description = "Distinct noise tokens of the task (default: ${DEFAULT-VALUE}).")
        int noise;
        @Option(names = "--activation", defaultValue = "gelu", description = "Feed-forward activation: relu or gelu (default: ${DEFAULT-VALUE}).")
        String activation;
        @Option(names = "--pooling", defaultValue = "first", description = "Pooling before the head: first (position 0, where the query is) or mean (default: ${DEFAULT-VALUE}).")
        String pooling;

        ModelOptions options(Architecture architecture, int seqLen) {
            return options(architecture, seqLen, 1 + keys + classes + noise);
        }

        ModelOptions options(Architecture architecture, int seqLen, int vocabSize) {
            return new ModelOptions(architecture, vocabSize, seqLen, dim, layers, heads, mlpDim,
                    classes, choice(MlpActivation.class, "--activation", activation),
                    choice(Pooling.class, "--pooling", pooling));
        }

        private static <E extends Enum<E>> E choice(Class<E> type, String option, String value) {
            for (E e : type.getEnumConstants()) {
                if (e.name().equalsIgnoreCase(value)) {
                    return e;
                }
            }
            throw new IllegalArgumentException(option + " must be one of "
                    + Arrays.toString(type.getEnumConstants()).toLowerCase(Locale.ROOT) + ", got '" + value + "'");
        }
    }

    @Command(name = "train", mixinStandardHelpOptions = true,
            description = "Trains one architecture on a synthetic task (key-value retrieval or marker majority) and writes models/<name>/.")
    static final class Train implements Callable<Integer> {
        @Option(names = "--arch", required = true, description = "Architecture: prenorm, postnorm or eft.")
        String arch;
        @Option(names = "--seq-len", defaultValue = "256", description = "Sequence length (default: ${DEFAULT-VALUE}).")
        int seqLen;
        @CommandLine.Mixin
        Shape shape = new Shape();
        @Option(names = "--task", defaultValue = "kv", description = "Task: kv (key-value retrieval) or majority (most frequent marker token) (default: ${DEFAULT-VALUE}).")
        String taskName;
        @Option(names = "--max-other", defaultValue = "24", description = "majority: most occurrences of a losing marker (default: ${DEFAULT-VALUE}).")
        int maxOther;
        @Option(names = "--margin", defaultValue = "8", description = "majority: how many more times the winner occurs than the runner-up (default: ${DEFAULT-VALUE}).")
        int margin;
        @Option(names = "--train-size", defaultValue = "0", description = "0: every step draws fresh sequences; N: a fixed set of N training sequences, one shuffled pass per epoch (--steps ignored) (default: ${DEFAULT-VALUE}).")
        int trainSize;
        @Option(names = "--pairs", defaultValue = "3", description = "Key/value pairs per sequence, the queried one included (default: ${DEFAULT-VALUE}).")
        int pairs;
        @Option(names = "--epochs", defaultValue = "3", description = "Epochs (default: ${DEFAULT-VALUE}).")
        int epochs;
        @Option(names = "--steps", defaultValue = "200", description = "Optimizer steps per epoch, each on a fresh batch (default: ${DEFAULT-VALUE}).")
        int steps;
        @Option(names = "--batch-size", defaultValue = "32", description = "Sequences per step (default: ${DEFAULT-VALUE}).")
        int batchSize;
        @Option(names = "--lr", defaultValue = "0.001", description = "Adam learning rate (default: ${DEFAULT-VALUE}).")
        float learningRate;
        @Option(names = "--warmup", defaultValue = "100", description = "Linear learning-rate warm-up steps (default: ${DEFAULT-VALUE}).")
        int warmup;
        @Option(names = "--seed", defaultValue = "1", description = "Seed of the training/validation data streams, the shuffles and the initial weights (default: ${DEFAULT-VALUE}).")
        long seed;
        @Option(names = "--threads", defaultValue = "2", description = "PyTorch intra-op threads; the same seed repeats a run exactly only at the same thread count; 0: one per core (default: ${DEFAULT-VALUE}).")
        int threads;
        @Option(names = "--validation-size", defaultValue = "512", description = "Held-out sequences scored after every epoch (default: ${DEFAULT-VALUE}).")
        int validationSize;
        @Option(names = "--log-every", defaultValue = "50", description = "Steps between progress lines; 0 for epoch lines only (default: ${DEFAULT-VALUE}).")
        int logEvery;
        @Option(names = "--name", description = "Model directory name (default: <arch>-<seq-len>).")
        String name;
        @Option(names = "--models", defaultValue = "models", description = "Model repository directory (default: ${DEFAULT-VALUE}).")
        Path models;
        @Option(names = "--max-batch-size", defaultValue = "8", description = "max_batch_size written to config.json (default: ${DEFAULT-VALUE}).")
        int maxBatchSize;

        @Override
        public Integer call() throws Exception {
            Architecture architecture = Architecture.parse(arch);
            SequenceTask task = switch (taskName) {
                case KeyValueRetrievalTask.KIND -> new KeyValueRetrievalTask(seqLen, shape.keys, shape.classes, shape.noise, pairs);
                case MarkerMajorityTask.KIND -> new MarkerMajorityTask(seqLen, shape.classes, shape.noise, maxOther, margin);
                default -> throw new IllegalArgumentException("--task must be kv or majority, got '" + taskName + "'");
            };
            ModelOptions options = shape.options(architecture, seqLen, task.vocabSize());
            TrainingOptions training = new TrainingOptions(epochs, steps, batchSize, learningRate, warmup, seed,
                    validationSize, logEvery, trainSize, threads);
            String dirName = name != null ? name : architecture.cliName() + "-" + seqLen;
            try (NDManager manager = NDManager.newBaseManager()) {
                SequenceClassifier model = SequenceClassifier.create(options, manager, seed);
                System.out.printf(Locale.ROOT, "%s: %,d parameters, vocab %d, seq_len %d, seed %d, threads %s%n",
                        dirName, model.parameterCount(), options.vocabSize(), seqLen, seed,
                        threads > 0 ? threads : "default");
                List<EpochResult> results = new ClassifierTrainer(model, task, training, System.out).train(manager);
                Path dir = models.resolve(dirName);
                ModelDirectory.write(dir, OnnxExporter.export(model, dirName), maxBatchSize, options, task, training,
                        results, model.parameterCount());
                System.out.println("wrote " + dir.resolve("model.onnx"));
            }
            return 0;
        }
    }

    @Command(name = "params", mixinStandardHelpOptions = true,
            description = "Prints parameter counts (from the initialized tensors) of every architecture at each length.")
    static final class Params implements Callable<Integer> {
        @Option(names = "--seq-lens", split = ",", defaultValue = "256,512,1024",
                description = "Comma-separated sequence lengths (default: ${DEFAULT-VALUE}).")
        int[] seqLens;
        @CommandLine.Mixin
        Shape shape = new Shape();

        @Override
        public Integer call() {
            try (NDManager manager = NDManager.newBaseManager()) {
                for (Architecture architecture : Architecture.values()) {
                    for (int seqLen : seqLens) {
                        long count = SequenceClassifier.create(shape.options(architecture, seqLen), manager).parameterCount();
                        System.out.printf(Locale.ROOT, "%-8s seq_len %5d  %,12d%n", architecture.cliName(), seqLen, count);
                    }
                }
            }
            return 0;
        }
    }

    @Command(name = "bench", mixinStandardHelpOptions = true,
            description = "ONNX Runtime (CPU) throughput of initialized pre-norm attention and EFT models at each length, "
                    + "the two timed in alternating rounds; then ORT vs DJL logits of both at --check-len.")
    static final class Bench implements Callable<Integer> {
        @Option(names = "--seq-lens", split = ",", defaultValue = "256,512,1024,2048,4096",
                description = "Comma-separated sequence lengths (default: ${DEFAULT-VALUE}).")
        int[] seqLens;
        @CommandLine.Mixin
        Shape shape = new Shape();
        @Option(names = "--batch", defaultValue = "8", description = "Sequences per ORT call (default: ${DEFAULT-VALUE}).")
        int batch;
        @Option(names = "--threads", defaultValue = "2", description = "ORT intra-op threads (default: ${DEFAULT-VALUE}).")
        int threads;
        @Option(names = "--rounds", defaultValue = "7", description = "Interleaved rounds per length (default: ${DEFAULT-VALUE}).")
        int rounds;
        @Option(names = "--round-ms", defaultValue = "400", description = "Target time per model per round, in ms; at least one batch (default: ${DEFAULT-VALUE}).")
        double roundMillis;
        @Option(names = "--check-len", defaultValue = "4096", description = "Length of the ORT vs DJL check; 0 skips it (default: ${DEFAULT-VALUE}).")
        int checkLen;
        @Option(names = "--check-batch", defaultValue = "2", description = "Sequences in the ORT vs DJL check (default: ${DEFAULT-VALUE}).")
        int checkBatch;

        @Override
        public Integer call() throws Exception {
            InferenceThroughputBench bench = new InferenceThroughputBench(
                    shape.options(Architecture.PRENORM, 2), threads, rounds, roundMillis);
            System.out.println("| seq_len | batch | params standard | params EFT | ms/batch standard | ms/batch EFT "
                    + "| seq/s standard | seq/s EFT | EFT/standard (seq/s) |");
            System.out.println("|---|---|---|---|---|---|---|---|---|");
            for (int seqLen : seqLens) {
                ThroughputRow r = bench.measure(seqLen, batch);
                System.out.printf(Locale.ROOT, "| %d | %d | %,d | %,d | %.2f | %.2f | %.1f | %.1f | %.2f |%n",
                        r.seqLen(), r.batch(), r.standardParams(), r.eftParams(), r.standardMs(), r.eftMs(),
                        r.standardSequencesPerSecond(), r.eftSequencesPerSecond(), r.eftSpeedup());
            }
            if (checkLen > 0) {
                for (Architecture architecture : new Architecture[] {Architecture.PRENORM, Architecture.EFT}) {
                    double[] e = bench.exportError(architecture, checkLen, checkBatch);
                    System.out.printf(Locale.ROOT, "check %s seq_len %d batch %d: max |ORT - DJL| = %.3g "
                            + "(logit spread %.3g, weights N(0, 0.3))%n", architecture.cliName(), checkLen,
                            checkBatch, e[0], e[1]);
                }
            }
            return 0;
        }
    }

    @Command(name = "evaluate", mixinStandardHelpOptions = true,
            description = "Sends a trained model's validation set (then its fixed training set) through a running Vigil "
                    + "server's HTTP API, prints the accuracies from the returned logits and, with --metrics, the probe "
                    + "figures Vigil reports for the validation window.")
    static final class Evaluate implements Callable<Integer> {
        @Option(names = "--url", required = true, description = "Vigil base URL, e.g. http://127.0.0.1:8080.")
        String url;
        @Option(names = "--model", required = true, split = ",", description = "Served model names (comma-separated); each needs models/<name>/exporter.json.")
        List<String> names;
        @Option(names = "--models", defaultValue = "models", description = "Model repository the exporter wrote (default: ${DEFAULT-VALUE}).")
        Path models;
        @Option(names = "--batch", defaultValue = "8", description = "Sequences per request (default: ${DEFAULT-VALUE}).")
        int batch;
        @Option(names = "--validation-count", description = "Validation sequences to send (default: the validation size in exporter.json).")
        Integer validationCount;
        @Option(names = "--metrics", description = "Send each validation request only once the probe worker has taken the previous one "
                + "(so none is dropped), then print the per-site figures of the validation window.")
        boolean metrics;
        @Option(names = "--wait-s", defaultValue = "300", description = "Longest wait for the probe worker to catch up, in seconds (default: ${DEFAULT-VALUE}).")
        int waitSeconds;

        @Override
        public Integer call() throws Exception {
            InferenceClient client = new InferenceClient(url);
            ServedEvaluation evaluation = new ServedEvaluation(client);
            StringBuilder summary = new StringBuilder("| model | validation acc (HTTP) | train-set acc (HTTP) | gap |\n|---|---|---|---|\n");
            StringBuilder sites = new StringBuilder(SiteFigures.MARKDOWN_HEADER).append('\n');
            for (String name : names) {
                ModelDirectory.TrainedTask trained = ModelDirectory.readTask(models.resolve(name));
                int count = validationCount != null ? validationCount : trained.validationSize();
                double before = probed(client, name);
                long start = System.nanoTime();
                // with --metrics, pace the requests so the bounded probe buffers never overflow (a drop would
                // leave a sequence out of the statistics and misalign the window)
                ServedEvaluation.Outcome validation = evaluation.run(name, trained.task(), trained.seed(),
                        Split.VALIDATION, count, batch, sent -> {
                            if (metrics) {
                                awaitProbes(client, name, before + sent);
                            }
                        });
                System.out.printf(Locale.ROOT, "%s: validation %d/%d = %.4f (%d requests, %.1f s)%n", name,
                        validation.correct(), validation.count(), validation.accuracy(), validation.requests(),
                        (System.nanoTime() - start) / 1e9);
                if (metrics) {
                    List<PrometheusSample> samples = PrometheusSample.parse(client.metrics());
                    System.out.printf(Locale.ROOT, "%s: probed %.0f, dropped %.0f, open window tokens %.0f%n", name,
                            ServedEvaluation.counter(samples, "vigil_probe_requests_total", name),
                            ServedEvaluation.counter(samples, "vigil_probe_dropped_total", name),
                            ServedEvaluation.counter(samples, "vigil_window_tokens", name));
                    for (SiteFigures f : SiteFigures.of(samples, name)) {
                        sites.append(f.markdownRow(name)).append('\n');
                    }
                }
                String train = "";
                String gap = "";
                if (trained.trainSize() > 0) {
                    ServedEvaluation.Outcome t = evaluation.run(name, trained.task(), trained.seed(), Split.TRAIN,
                            trained.trainSize(), batch, sent -> { });
                    System.out.printf(Locale.ROOT, "%s: train set %d/%d = %.4f%n", name, t.correct(), t.count(),
                            t.accuracy());
                    train = String.format(Locale.ROOT, "%.3f", t.accuracy());
                    gap = String.format(Locale.ROOT, "%+.3f", t.accuracy() - validation.accuracy());
                }
                summary.append(String.format(Locale.ROOT, "| %s | %.3f | %s | %s |%n", name, validation.accuracy(),
                        train, gap));
            }
            System.out.println();
            System.out.print(summary);
            if (metrics) {
                System.out.println();
                System.out.print(sites);
            }
            return 0;
        }

        private static double probed(InferenceClient client, String name) throws Exception {
            List<PrometheusSample> samples = PrometheusSample.parse(client.metrics());
            return ServedEvaluation.counter(samples, "vigil_probe_requests_total", name)
                    + ServedEvaluation.counter(samples, "vigil_probe_dropped_total", name);
        }

        /** Polls /metrics until every request sent has been probed or dropped. */
        private void awaitProbes(InferenceClient client, String name, double expected)
                throws IOException, InterruptedException {
            long deadline = System.nanoTime() + waitSeconds * 1_000_000_000L;
            while (true) {
                List<PrometheusSample> samples = PrometheusSample.parse(client.metrics());
                double done = ServedEvaluation.counter(samples, "vigil_probe_requests_total", name)
                        + ServedEvaluation.counter(samples, "vigil_probe_dropped_total", name);
                if (done >= expected) {
                    return;
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException(name + ": probe worker still behind after " + waitSeconds + " s ("
                            + done + " of " + expected + " requests)");
                }
                Thread.sleep(5);
            }
        }
    }

    private ExporterCli() {
    }

    public static void main(String[] args) {
        // before any DJL class loads: never reach the network (see shared/DEPENDENCIES.md)
        System.setProperty("ai.djl.offline", "true");
        System.setProperty("OPT_OUT_TRACKING", "true");
        int code = new CommandLine(new ExporterCli())
                .setExecutionExceptionHandler((e, cmd, parsed) -> {
                    cmd.getErr().println("error: " + e.getMessage());
                    return 2;
                })
                .execute(args);
        System.exit(code);
    }
}
