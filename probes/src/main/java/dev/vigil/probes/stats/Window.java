package dev.vigil.probes.stats;

/**
 * The window of SPEC §4: requests accumulate until the open window holds at least {@code windowTokens} unmasked
 * tokens; the request that reaches the size closes it (a request is never split). Used by one thread.
 */
final class Window {
    private final long windowTokens;
    private long index;
    private long tokens;
    private long requests;

    Window(long windowTokens) {
        this.windowTokens = windowTokens;
    }

    /** Adds a request's unmasked tokens; true when this request closes the window (then {@link #open()} follows). */
    boolean add(long requestTokens) {
        tokens += requestTokens;
        requests++;
        return tokens >= windowTokens;
    }

    /** The current window's description; {@code closed} says whether it is being closed. */
    WindowInfo info(boolean closed) {
        return new WindowInfo(index, closed, tokens, requests);
    }

    /** Starts the next window. */
    void open() {
        index++;
        tokens = 0;
        requests = 0;
    }

    long tokens() {
        return tokens;
    }
}
