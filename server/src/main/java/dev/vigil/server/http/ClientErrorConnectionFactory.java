package dev.vigil.server.http;

import org.eclipse.jetty.http.BadMessageException;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpChannelOverHttp;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnection;
import org.eclipse.jetty.server.HttpConnectionFactory;

/**
 * HTTP/1.1 connections whose refusals of a malformed request are all 4xx: Jetty answers an unknown HTTP version in
 * the request line with 505, a server-error status, though the mistake is the client's; here it is a 400 that says
 * which version Vigil speaks.
 */
final class ClientErrorConnectionFactory extends HttpConnectionFactory {

    ClientErrorConnectionFactory(HttpConfiguration config) {
        super(config);
    }

    @Override
    public Connection newConnection(Connector connector, EndPoint endPoint) {
        HttpConnection connection = new HttpConnection(getHttpConfiguration(), connector, endPoint,
                isRecordHttpComplianceViolations()) {
            @Override
            protected HttpChannelOverHttp newHttpChannel() {
                return new HttpChannelOverHttp(this, getConnector(), getHttpConfiguration(), getEndPoint(), this) {
                    @Override
                    public void badMessage(BadMessageException failure) {
                        super.badMessage(failure.getCode() == HttpStatus.HTTP_VERSION_NOT_SUPPORTED_505
                                ? new BadMessageException(HttpStatus.BAD_REQUEST_400, "unsupported HTTP version in the "
                                + "request line (" + failure.getReason() + "); Vigil speaks HTTP/1.1 and HTTP/1.0")
                                : failure);
                    }
                };
            }
        };
        connection.setUseInputDirectByteBuffers(isUseInputDirectByteBuffers());
        connection.setUseOutputDirectByteBuffers(isUseOutputDirectByteBuffers());
        return configure(connection, connector, endPoint);
    }
}
