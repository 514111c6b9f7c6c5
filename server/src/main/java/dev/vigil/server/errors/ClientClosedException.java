package dev.vigil.server.errors;

import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.TimeoutException;

/**
 * The client closed its connection, or stopped reading, before its response was written: nothing can be sent, the
 * server is not at fault (counted as a client error, logged at debug level, like a proxy's 499).
 */
public final class ClientClosedException extends RuntimeException {

    private ClientClosedException(IOException cause) {
        super("client closed the connection before the response was written: " + cause, cause, false, false);
    }

    /**
     * The exception for a failed response write: a {@link ClientClosedException} when the connection was closed or
     * reset by the client, or timed out while the client did not read; otherwise the I/O error itself, unchecked.
     */
    public static RuntimeException of(IOException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof EOFException || t instanceof TimeoutException) {
                return new ClientClosedException(e);
            }
        }
        return new UncheckedIOException(e);
    }
}
