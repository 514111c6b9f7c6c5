package dev.vigil.exporter;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.util.Pair;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Trains a {@link SequenceClassifier} on a {@link SequenceTask} (a fresh stream, or a fixed
 * {@link TrainingSet} shuffled every epoch) with a manual
 * {@link GradientCollector} loop, softmax cross-entropy and Adam, printing a progress line
 * (epoch, step, loss, accuracy, tokens/s). Nothing in the loop draws random numbers: with a model from
 * {@link SequenceClassifier#create(ModelOptions, NDManager, long)} and a fixed thread count, what is left to
 * vary between runs is the rounding of PyTorch's threaded CPU kernels (none in a small model's run).
 */
public final class ClassifierTrainer {
    private final SequenceClassifier model;
    private final SequenceTask task;
    private final TrainingOptions options;
    private final PrintStream log;

    public ClassifierTrainer(SequenceClassifier model, SequenceTask task, TrainingOptions options, PrintStream log) {
        ModelOptions m = model.options();
        if (task.seqLen() != m.seqLen() || task.classes() != m.classes() || task.vocabSize() > m.vocabSize()) {
            throw new IllegalArgumentException("task (seqLen " + task.seqLen() + ", classes " + task.classes()
                    + ", vocab " + task.vocabSize() + ") does not fit the model (seqLen " + m.seqLen() + ", classes "
                    + m.classes() + ", vocab " + m.vocabSize() + ")");
        }
        this.model = model;
        this.task = task;
        this.options = options;
        this.log = log;
    }

    /** Runs every epoch and returns one result per epoch. */
    public List<EpochResult> train(NDManager manager) {
        if (options.threads() > 0) {
            JniUtils.setNumThreads(options.threads());
        }
        Optimizer adam = Optimizer.adam()
                .optLearningRateTracker(Tracker.warmUp()
                        .optWarmUpSteps(options.warmupSteps())
                        .setMainTracker(Tracker.fixed(options.learningRate()))
                        .build())
                .build();
        List<Parameter> parameters = new ArrayList<>();
        for (Pair<String, Parameter> p : model.getParameters()) {
            parameters.add(p.getValue());
        }
        ParameterStore store = new ParameterStore(manager, false);
        List<EpochResult> results = new ArrayList<>();
        long example = 0;
        TrainingSet trainingSet = options.trainSize() > 0
                ? new TrainingSet(task, options.seed(), options.trainSize()) : null;
        int stepsPerEpoch = trainingSet != null ? trainingSet.stepsPerEpoch(options.batchSize()) : options.stepsPerEpoch();
        int totalSteps = options.epochs() * stepsPerEpoch;
        int globalStep = 0;
        for (int epoch = 1; epoch <= options.epochs(); epoch++) {
            double lossSum = 0;
            long correct = 0;
            long seen = 0;
            int[] order = trainingSet != null ? trainingSet.order(epoch) : null;
            long start = System.nanoTime();
            for (int step = 1; step <= stepsPerEpoch; step++, globalStep++) {
                LabeledBatch batch = trainingSet != null
                        ? trainingSet.batch(order, step - 1, options.batchSize())
                        : task.batch(options.seed(), Split.TRAIN, example, options.batchSize());
                example += batch.size();
                try (NDManager stepManager = manager.newSubManager()) {
                    NDArray ids = stepManager.create(batch.ids(), new Shape(batch.size(), batch.seqLen()));
                    NDArray labels = stepManager.create(batch.labels());
                    try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                        NDArray logits = model.forward(store, new NDList(ids), true).singletonOrThrow();
                        NDArray loss = logits.logSoftmax(-1)
                                .mul(labels.oneHot(task.classes()))
                                .sum(new int[] {1})
                                .neg()
                                .mean();
                        collector.backward(loss);
                        lossSum += loss.getFloat();
                        correct += countCorrect(logits, batch.labels());
                    }
                    for (Parameter p : parameters) {
                        NDArray weight = p.getArray();
                        try (NDArray gradient = weight.getGradient()) {
                            adam.update(p.getId(), weight, gradient);
                            // PyTorch accumulates into .grad across backward passes; the view shares its storage
                            gradient.muli(0f);
                        }
                    }
                }
                seen += batch.size();
                if (options.logEvery() > 0 && step % options.logEvery() == 0) {
                    double seconds = (System.nanoTime() - start) / 1e9;
                    log.printf(Locale.ROOT, "epoch %d/%d step %d/%d (%d/%d) loss %.4f acc %.3f tokens/s %.0f%n",
                            epoch, options.epochs(), step, stepsPerEpoch, globalStep + 1, totalSteps,
                            lossSum / step, (double) correct / seen, seen * task.seqLen() / seconds);
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            double validation = accuracy(manager, Split.VALIDATION, options.validationSize());
            // the training set is examples 0..N-1 of the training split
            double trainSet = trainingSet != null && epoch == options.epochs()
                    ? accuracy(manager, Split.TRAIN, trainingSet.size()) : -1;
            EpochResult result = new EpochResult(epoch, lossSum / stepsPerEpoch, (double) correct / seen,
                    validation, seconds, seen * task.seqLen() / seconds, trainSet);
            log.printf(Locale.ROOT, "epoch %d/%d done: loss %.4f train acc %.3f val acc %.3f time %.1fs tokens/s %.0f%s%n",
                    epoch, options.epochs(), result.loss(), result.trainAccuracy(), validation, seconds,
                    result.tokensPerSecond(),
                    trainSet >= 0 ? String.format(Locale.ROOT, " train-set acc (eval) %.3f", trainSet) : "");
            results.add(result);
        }
        return results;
    }

    /** Accuracy of the current weights on the first {@code count} examples of a split. */
    public double accuracy(NDManager manager, Split split, int count) {
        int chunk = Math.min(count, 64);
        long correct = 0;
        for (int first = 0; first < count; first += chunk) {
            int size = Math.min(chunk, count - first);
            LabeledBatch batch = task.batch(options.seed(), split, first, size);
            try (NDManager evalManager = manager.newSubManager()) {
                NDArray ids = evalManager.create(batch.ids(), new Shape(size, batch.seqLen()));
                correct += countCorrect(model.predict(ids), batch.labels());
            }
        }
        return (double) correct / count;
    }

    private static long countCorrect(NDArray logits, int[] labels) {
        long[] predicted = logits.argMax(-1).toLongArray();
        long correct = 0;
        for (int i = 0; i < labels.length; i++) {
            if (predicted[i] == labels[i]) {
                correct++;
            }
        }
        return correct;
    }
}
