package dev.vigil.server.http;

import io.javalin.config.JavalinConfig;
import org.eclipse.jetty.server.ServerConnector;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/**
 * The settings Vigil gives Jetty below Javalin: one connector with an explicit idle timeout, a request header
 * limit, and error replies in JSON.
 *
 * @param host           the address to bind
 * @param port           the port; 0 picks a free one
 * @param maxHeaderBytes the request line and headers together
 * @param idleTimeoutMs  a connection silent this long is closed
 */
public record JettySettings(String host, int port, int maxHeaderBytes, long idleTimeoutMs) {

    /** Applies these settings to a Javalin configuration. */
    public void apply(JavalinConfig cfg) {
        JsonErrorHandler errors = new JsonErrorHandler(maxHeaderBytes);
        cfg.jetty.modifyServer(server -> server.setErrorHandler(errors));
        cfg.jetty.modifyServletContextHandler(context -> context.setErrorHandler(errors));
        cfg.jetty.modifyHttpConfiguration(http -> {
            http.setRequestHeaderSize(maxHeaderBytes);
            http.setSendServerVersion(false);
        });
        cfg.jetty.addConnector((server, http) -> {
            ServerConnector connector = new ServerConnector(server, new ClientErrorConnectionFactory(http));
            connector.setHost(host);
            connector.setPort(port);
            connector.setIdleTimeout(idleTimeoutMs);
            return connector;
        });
    }

    /**
     * Checks that the port can be bound, so that a server which could not listen fails before loading models.
     *
     * @throws IOException naming the address when it cannot be bound
     */
    public void checkPortFree() throws IOException {
        if (port == 0) {
            return;
        }
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(host, port));
        } catch (IOException e) {
            throw new IOException("cannot listen on " + host + ":" + port + ": " + e.getMessage(), e);
        }
    }
}
