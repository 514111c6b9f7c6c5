package dev.vigil.exporter;

import java.io.IOException;
import java.util.List;

/**
 * Sends examples of a task's split through a served model (the HTTP API) and scores the returned
 * logits against the labels.
 */
public final class ServedEvaluation {
    private final InferenceClient client;

    public ServedEvaluation(InferenceClient client) {
        this.client = client;
    }

    /**
     * What one pass over examples {@code 0 .. count-1} of a split gave.
     *
     * @param correct  sequences whose arg-max logit is the label
     * @param count    sequences sent
     * @param requests HTTP requests sent
     */
    public record Outcome(long correct, int count, int requests) {
        public double accuracy() {
            return (double) correct / count;
        }
    }

    /** Called after each answered request, e.g. to wait for the server's probe worker before the next one. */
    @FunctionalInterface
    public interface AfterRequest {
        void answered(int requestsSoFar) throws IOException, InterruptedException;
    }

    /**
     * Posts examples {@code 0 .. count-1} of {@code split} in requests of at most {@code batch} sequences,
     * calling {@code after} once each request is answered.
     */
    public Outcome run(String model, SequenceTask task, long seed, Split split, int count, int batch,
                       AfterRequest after) throws IOException, InterruptedException {
        if (count < 1 || batch < 1) {
            throw new IllegalArgumentException("count and batch must be positive");
        }
        long correct = 0;
        int requests = 0;
        for (int first = 0; first < count; first += batch) {
            LabeledBatch examples = task.batch(seed, split, first, Math.min(batch, count - first));
            correct += countCorrect(client.logits(model, examples), task.classes(), examples.labels());
            requests++;
            after.answered(requests);
        }
        return new Outcome(correct, count, requests);
    }

    /**
     * Rows of {@code logits} [labels.length, classes] whose arg-max (first index on ties) is the label.
     *
     * @throws IllegalArgumentException when the logits do not hold labels.length × classes values
     */
    public static long countCorrect(float[] logits, int classes, int[] labels) {
        if (classes < 1 || logits.length != (long) labels.length * classes) {
            throw new IllegalArgumentException("expected " + labels.length + " x " + classes + " logits, got "
                    + logits.length + " values");
        }
        long correct = 0;
        for (int row = 0; row < labels.length; row++) {
            int best = 0;
            for (int c = 1; c < classes; c++) {
                if (logits[row * classes + c] > logits[row * classes + best]) {
                    best = c;
                }
            }
            if (best == labels[row]) {
                correct++;
            }
        }
        return correct;
    }

    /** Sum of a per-model counter ({@code vigil_probe_requests_total}, ...) over its samples for {@code model}. */
    public static double counter(List<PrometheusSample> samples, String name, String model) {
        double sum = 0;
        for (PrometheusSample s : samples) {
            if (s.name().equals(name) && model.equals(s.label("model"))) {
                sum += s.value();
            }
        }
        return sum;
    }
}
