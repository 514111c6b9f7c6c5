package dev.vigil.server.http;

import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.server.AbstractConnector;
import org.eclipse.jetty.server.ConnectionLimit;

/**
 * Jetty's connection limit on one connector, made to shed idle connections reliably: at the cap, Jetty stops
 * accepting and lowers the idle timeout of the connections it has, but a burst that reaches the cap while its
 * connections are still being opened would keep their normal idle timeout (they are not yet among the connector's
 * endpoints when the cap is reached), so here every connection opened while at the cap gets the lower one too.
 */
final class ConnectionCap extends ConnectionLimit {
    private final long capIdleTimeoutMs;
    private volatile boolean capped;

    /**
     * @param maxConnections   connections open at once
     * @param capIdleTimeoutMs the idle timeout of every connection while the cap is reached
     */
    ConnectionCap(int maxConnections, AbstractConnector connector, long capIdleTimeoutMs) {
        super(maxConnections, connector);
        this.capIdleTimeoutMs = capIdleTimeoutMs;
        setIdleTimeout(capIdleTimeoutMs);
    }

    @Override
    protected void limit() {
        capped = true;
        super.limit();
    }

    @Override
    protected void unlimit() {
        capped = false;
        super.unlimit();
    }

    @Override
    public void onOpened(Connection connection) {
        super.onOpened(connection);
        if (capped) {
            connection.getEndPoint().setIdleTimeout(capIdleTimeoutMs);
        }
    }
}
