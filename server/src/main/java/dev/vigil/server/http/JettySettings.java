package dev.vigil.server.http;

import com.sun.management.UnixOperatingSystemMXBean;
import io.javalin.config.JavalinConfig;
import org.eclipse.jetty.server.HttpChannel;
import org.eclipse.jetty.server.ServerConnector;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/**
 * The settings Vigil gives Jetty below Javalin: one connector with an explicit idle timeout, a deadline for each
 * request's headers, a cap on open connections, a request header limit, and error replies in JSON.
 *
 * @param host            the address to bind
 * @param port            the port; 0 picks a free one
 * @param maxHeaderBytes  the request line and headers together
 * @param idleTimeoutMs   a connection silent this long is closed
 * @param headerTimeoutMs a request's line and headers must arrive within this time of its first byte (408 after)
 * @param maxConnections  connections open at once; at the cap Jetty stops accepting (new connections wait in the
 *                        operating system's backlog) and closes connections idle for {@value #LIMITED_IDLE_MS} ms
 */
public record JettySettings(String host, int port, int maxHeaderBytes, long idleTimeoutMs, long headerTimeoutMs,
                            int maxConnections) {
    /** The idle timeout of every connection while the connection cap is reached, as Jetty's connection limit does. */
    public static final long LIMITED_IDLE_MS = 1000;

    /** File descriptors kept for what is not a connection: the JVM's jars, model files, logs, exports. */
    static final long RESERVED_FILES = 256;

    /**
     * The connection cap that leaves {@link #RESERVED_FILES} of the process's open-file limit for everything else:
     * {@code requested}, or less when the limit is lower (but not below 16); {@code requested} when the limit is
     * unknown.
     */
    public static int connectionCap(int requested) {
        return connectionCap(requested, maxOpenFiles());
    }

    /** {@link #connectionCap(int)} for a process allowed {@code maxOpenFiles} (0: unknown). */
    public static int connectionCap(int requested, long maxOpenFiles) {
        if (maxOpenFiles <= 0) {
            return requested;
        }
        return (int) Math.min(requested, Math.max(16, maxOpenFiles - RESERVED_FILES));
    }

    /** The process's open-file limit; 0 when the platform does not say. */
    private static long maxOpenFiles() {
        return ManagementFactory.getOperatingSystemMXBean() instanceof UnixOperatingSystemMXBean unix
                ? unix.getMaxFileDescriptorCount() : 0;
    }

    /**
     * Applies these settings to a Javalin configuration.
     *
     * @param exchanges told of every request's progress on the connector, up to its response's last byte
     */
    public void apply(JavalinConfig cfg, HttpChannel.Listener exchanges) {
        JsonErrorHandler errors = new JsonErrorHandler(maxHeaderBytes);
        cfg.jetty.modifyServer(server -> server.setErrorHandler(errors));
        cfg.jetty.modifyServletContextHandler(context -> context.setErrorHandler(errors));
        cfg.jetty.modifyHttpConfiguration(http -> {
            http.setRequestHeaderSize(maxHeaderBytes);
            http.setSendServerVersion(false);
        });
        cfg.jetty.addConnector((server, http) -> {
            ServerConnector connector = new ServerConnector(server,
                    new ClientErrorConnectionFactory(http, headerTimeoutMs));
            connector.setHost(host);
            connector.setPort(port);
            connector.setIdleTimeout(idleTimeoutMs);
            // a bean of the connector: started with it, it registers for the connector's accepts and connections
            connector.addBean(new ConnectionCap(maxConnections, connector, Math.min(LIMITED_IDLE_MS, idleTimeoutMs)));
            connector.addBean(exchanges);
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
