package dev.vigil.server.http;

import dev.vigil.server.errors.ApiException;
import dev.vigil.server.memory.RequestMemory;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import org.eclipse.jetty.http.BadMessageException;
import org.eclipse.jetty.io.EofException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Reads request bodies without holding a thread while their bytes are awaited (the servlet's non-blocking input):
 * a client that sends slowly costs a socket and the bytes it has sent, not a worker thread. Every body is limited
 * in size, in the time it may take to arrive whole, and by the shared request memory budget, which is charged
 * before the bytes are stored: by the Content-Length when there is one, as the bytes arrive when chunked.
 */
public final class BodyReader {
    private static final Logger LOG = LoggerFactory.getLogger(BodyReader.class);
    private static final int FIRST_CHUNKED_BUFFER = 16 * 1024;
    private final long maxBodyBytes;
    private final long timeoutMs;
    private final long idleTimeoutMs;
    private final ScheduledExecutorService timer;

    /**
     * @param maxBodyBytes  the largest body (413 above)
     * @param timeoutMs     the time from the headers to the body's last byte (408 after)
     * @param idleTimeoutMs the connection idle timeout, named in the 408 when the client goes silent
     * @param timer         runs the deadlines
     */
    public BodyReader(long maxBodyBytes, long timeoutMs, long idleTimeoutMs, ScheduledExecutorService timer) {
        this.maxBodyBytes = maxBodyBytes;
        this.timeoutMs = timeoutMs;
        this.idleTimeoutMs = idleTimeoutMs;
        this.timer = timer;
    }

    /**
     * Starts reading the body of a request whose asynchronous processing has started.
     *
     * @return the body; fails with an {@link ApiException}: 415 compressed, 413 too large, 503 budget taken, 408 too
     *         slow, 400 ended early or malformed
     */
    public CompletableFuture<byte[]> read(HttpServletRequest request, RequestMemory memory) {
        CompletableFuture<byte[]> body = new CompletableFuture<>();
        try {
            String encoding = request.getHeader("Content-Encoding");
            if (encoding != null && !encoding.isBlank() && !encoding.trim().equalsIgnoreCase("identity")) {
                // read as it is, a compressed body would only be refused later as malformed JSON or tensors
                throw new ApiException(415, "Content-Encoding '" + encoding.trim() + "' is not supported: send the "
                        + "request body uncompressed");
            }
            long declared = request.getContentLengthLong();
            if (declared > maxBodyBytes) {
                throw new ApiException(413, "request body of " + declared + " bytes exceeds the limit of "
                        + maxBodyBytes + " bytes (--max-body-bytes)");
            }
            Listener listener = new Listener(request.getInputStream(), memory, declared, body);
            listener.deadline = timer.schedule(listener::timedOut, timeoutMs, TimeUnit.MILLISECONDS);
            body.whenComplete((b, e) -> listener.deadline.cancel(false));
            listener.in.setReadListener(listener);
        } catch (ApiException e) {
            body.completeExceptionally(e);
        } catch (IOException | RuntimeException e) {
            body.completeExceptionally(new ApiException(400, "cannot read the request body: " + e.getMessage()));
        }
        return body;
    }

    /** One body's reading; the servlet container calls it for one event at a time. */
    private final class Listener implements ReadListener {
        final ServletInputStream in;
        private final RequestMemory memory;
        private final long declared;
        private final CompletableFuture<byte[]> body;
        private byte[] buffer;
        private int length;
        volatile ScheduledFuture<?> deadline;

        Listener(ServletInputStream in, RequestMemory memory, long declared, CompletableFuture<byte[]> body) {
            this.in = in;
            this.memory = memory;
            this.declared = declared;
            this.body = body;
            if (declared >= 0) {
                memory.reserve(declared);
                buffer = new byte[(int) declared];
            } else {
                int first = (int) Math.min(FIRST_CHUNKED_BUFFER, maxBodyBytes + 1);
                memory.reserve(first);
                buffer = new byte[first];
            }
        }

        @Override
        public void onDataAvailable() throws IOException {
            try {
                while (!body.isDone() && in.isReady()) {
                    if (length == buffer.length) {
                        if (declared >= 0) {
                            // the container ends a declared body at its length: this read sees that end
                            if (in.read() >= 0) {
                                fail(new ApiException(400, "the request body is longer than its Content-Length"));
                            }
                            return;
                        }
                        if (!grow()) {
                            return;
                        }
                    }
                    int n = in.read(buffer, length, buffer.length - length);
                    if (n < 0) {
                        return;
                    }
                    length += n;
                }
            } catch (ApiException e) {
                fail(e);
            }
        }

        /** Makes room for more chunked bytes, charging the budget first; false when the body is over the limit. */
        private boolean grow() {
            if (length > maxBodyBytes) {
                fail(new ApiException(413, "request body exceeds the limit of " + maxBodyBytes
                        + " bytes (--max-body-bytes)"));
                return false;
            }
            int size = (int) Math.min((long) buffer.length * 2, maxBodyBytes + 1);
            memory.reserve(size - buffer.length);
            buffer = Arrays.copyOf(buffer, size);
            return true;
        }

        @Override
        public void onAllDataRead() {
            if (declared >= 0 && length < declared) {
                fail(new ApiException(400, "the request body ended after " + length + " of its " + declared
                        + " bytes (Content-Length)"));
            } else if (declared < 0 && length > maxBodyBytes) {
                fail(new ApiException(413, "request body exceeds the limit of " + maxBodyBytes
                        + " bytes (--max-body-bytes)"));
            } else {
                body.complete(length == buffer.length ? buffer : Arrays.copyOf(buffer, length));
            }
        }

        @Override
        public void onError(Throwable t) {
            fail(describe(t));
        }

        void timedOut() {
            fail(new ApiException(408, "the request body did not arrive within " + timeoutMs
                    + " ms (--body-timeout-ms): " + progress()));
        }

        private void fail(ApiException e) {
            body.completeExceptionally(e);
        }

        private String progress() {
            return length + (declared >= 0 ? " of " + declared : "") + " bytes arrived";
        }

        /** What went wrong while reading, as the client's mistake it is. */
        private ApiException describe(Throwable t) {
            LOG.debug("Request body read failed", t);
            BadMessageException bad = find(t, BadMessageException.class);
            if (bad != null) {
                return new ApiException(400, "malformed request body: " + bad.getReason() + "; " + progress());
            }
            if (find(t, TimeoutException.class) != null) {
                return new ApiException(408, "no bytes of the request body arrived for " + idleTimeoutMs
                        + " ms (--idle-timeout-ms): " + progress());
            }
            if (find(t, EofException.class) != null) {
                // Jetty reports a malformed chunk as an early end too
                return new ApiException(400, declared >= 0
                        ? "the request body ended early: " + progress() + " (Content-Length)"
                        : "the chunked request body ended early or is malformed (a bad chunk size or chunk end): "
                        + progress());
            }
            LOG.info("Request body read failed: {}", t.toString());
            return new ApiException(400, "cannot read the request body: " + progress());
        }
    }

    /** The first throwable of this type in the cause chain, suppressed ones included; null when none. */
    private static <T extends Throwable> T find(Throwable t, Class<T> type) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (type.isInstance(c)) {
                return type.cast(c);
            }
            for (Throwable s : c.getSuppressed()) {
                if (type.isInstance(s)) {
                    return type.cast(s);
                }
            }
        }
        return null;
    }
}
