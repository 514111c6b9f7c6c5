package dev.vigil.server.probe;

import ai.onnxruntime.OnnxTensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A bounded uniform sample of one model's probed runs (reservoir sampling, Vitter's algorithm R): after {@code n}
 * offers each run is held with probability {@code capacity / n}. It holds at most {@code capacity} recordings of at
 * most {@code maxRequestBytes} each; a larger run is skipped. Deciding costs one random draw; only a run that is kept
 * is copied (so copies become rarer as traffic goes on).
 */
public final class RequestReservoir {
    private final int capacity;
    private final long maxRequestBytes;
    private final RecordedRequest[] slots;
    private int size;
    private long offered;
    private long tooLarge;

    /**
     * @param capacity        recordings held at most (0 records nothing)
     * @param maxRequestBytes the largest run's inputs that may be recorded
     */
    public RequestReservoir(int capacity, long maxRequestBytes) {
        if (capacity < 0 || maxRequestBytes < 1) {
            throw new IllegalArgumentException("reservoir capacity must be >= 0 and request bytes >= 1");
        }
        this.capacity = capacity;
        this.maxRequestBytes = maxRequestBytes;
        this.slots = new RecordedRequest[capacity];
    }

    /** Offers a run's inputs (not closed, not kept: a kept run is copied). */
    public void offer(Map<String, OnnxTensor> feeds) {
        if (capacity == 0) {
            return;
        }
        long bytes = RecordedRequest.bytesOf(feeds);
        int slot;
        synchronized (this) {
            if (bytes < 0 || bytes > maxRequestBytes) {
                tooLarge++;
                return;
            }
            offered++;
            if (size < capacity) {
                slot = size++;
            } else {
                long j = ThreadLocalRandom.current().nextLong(offered);
                if (j >= capacity) {
                    return;
                }
                slot = (int) j;
            }
        }
        RecordedRequest copy = RecordedRequest.copyOf(feeds);
        synchronized (this) {
            slots[slot] = copy;
        }
    }

    /** The recordings held now (a slot taken but still being copied is left out). */
    public synchronized List<RecordedRequest> sample() {
        List<RecordedRequest> out = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            if (slots[i] != null) {
                out.add(slots[i]);
            }
        }
        return out;
    }

    /** Runs offered (and small enough to record) so far. */
    public synchronized long offered() {
        return offered;
    }

    /** Runs not recorded because their inputs were larger than the limit (or strings). */
    public synchronized long tooLarge() {
        return tooLarge;
    }

    /** The most recordings held. */
    public int capacity() {
        return capacity;
    }
}
