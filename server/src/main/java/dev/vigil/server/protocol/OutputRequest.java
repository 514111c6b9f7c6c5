package dev.vigil.server.protocol;

/**
 * An output named in a request's {@code outputs}.
 *
 * @param binaryData its {@code parameters.binary_data}, or null when not given (the request's default applies)
 */
public record OutputRequest(String name, Boolean binaryData) {
}
