package dev.vigil.server.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.eclipse.jetty.http.BadMessageException;
import org.eclipse.jetty.http.HttpParser;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpChannelOverHttp;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnection;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.Scheduler;

import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * HTTP/1.1 connections whose refusals of a client's mistakes are all 4xx:
 * <ul>
 * <li>Jetty answers an unknown HTTP version in the request line with 505, a server-error status, though the mistake
 * is the client's; here it is a 400 that says which version Vigil speaks.</li>
 * <li>A request whose line and headers have not all arrived within the header deadline of its first byte is
 * answered 408 and the connection closed. Jetty's idle timeout alone restarts with every byte, so a client that
 * sends one header byte every few seconds would hold its connection for hours (slowloris).</li>
 * </ul>
 */
final class ClientErrorConnectionFactory extends HttpConnectionFactory {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final long headerTimeoutMs;

    /** @param headerTimeoutMs the time a request's line and headers have to arrive from its first byte */
    ClientErrorConnectionFactory(HttpConfiguration config, long headerTimeoutMs) {
        super(config);
        this.headerTimeoutMs = headerTimeoutMs;
    }

    @Override
    public Connection newConnection(Connector connector, EndPoint endPoint) {
        HeaderDeadlineConnection connection = new HeaderDeadlineConnection(getHttpConfiguration(), connector,
                endPoint, isRecordHttpComplianceViolations());
        connection.setUseInputDirectByteBuffers(isUseInputDirectByteBuffers());
        connection.setUseOutputDirectByteBuffers(isUseOutputDirectByteBuffers());
        return configure(connection, connector, endPoint);
    }

    /** A connection that times the arrival of each request's line and headers. */
    private final class HeaderDeadlineConnection extends HttpConnection {
        /** The deadline of the request whose headers are arriving; null between requests and once they are whole. */
        private Scheduler.Task deadline;

        HeaderDeadlineConnection(HttpConfiguration config, Connector connector, EndPoint endPoint,
                                 boolean recordViolations) {
            super(config, connector, endPoint, recordViolations);
        }

        @Override
        protected HttpChannelOverHttp newHttpChannel() {
            return new HttpChannelOverHttp(this, getConnector(), getHttpConfiguration(), getEndPoint(), this) {
                @Override
                public boolean headerComplete() {
                    headersArrived();
                    return super.headerComplete();
                }

                @Override
                public void badMessage(BadMessageException failure) {
                    headersArrived();
                    super.badMessage(failure.getCode() == HttpStatus.HTTP_VERSION_NOT_SUPPORTED_505
                            ? new BadMessageException(HttpStatus.BAD_REQUEST_400, "unsupported HTTP version in the "
                            + "request line (" + failure.getReason() + "); Vigil speaks HTTP/1.1 and HTTP/1.0")
                            : failure);
                }
            };
        }

        @Override
        public void onFillable() {
            super.onFillable();
            HttpParser parser = getParser();
            // some of a request's line or headers arrived, not all: its deadline runs from now (if not already)
            if (!parser.isStart() && parser.inHeaderState()) {
                synchronized (this) {
                    if (deadline == null) {
                        deadline = getConnector().getScheduler().schedule(this::headersLate, headerTimeoutMs,
                                TimeUnit.MILLISECONDS);
                    }
                }
            }
        }

        private synchronized void headersArrived() {
            if (deadline != null) {
                deadline.cancel();
                deadline = null;
            }
        }

        private void headersLate() {
            synchronized (this) {
                if (deadline == null) {
                    return;
                }
                deadline = null;
            }
            EndPoint endPoint = getEndPoint();
            byte[] body = errorBody("the request line and headers did not arrive within " + headerTimeoutMs
                    + " ms of the request's first byte (--header-timeout-ms)");
            byte[] head = ("HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\nContent-Length: "
                    + body.length + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1);
            endPoint.write(Callback.from(endPoint::close, failure -> endPoint.close()), ByteBuffer.wrap(head),
                    ByteBuffer.wrap(body));
        }

        @Override
        public void onClose(Throwable cause) {
            headersArrived();
            super.onClose(cause);
        }
    }

    private static byte[] errorBody(String message) {
        try {
            return JSON.writeValueAsBytes(Map.of("error", message));
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
