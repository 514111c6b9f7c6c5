/**
 * The v2 inference protocol on the wire: {@link dev.vigil.server.protocol.InferRequestParser} reads a request (JSON or
 * the binary tensor extension) into an {@link dev.vigil.server.protocol.InferRequest} under
 * {@link dev.vigil.server.protocol.JsonLimits}, and {@link dev.vigil.server.protocol.InferResponseWriter} writes an
 * {@link dev.vigil.server.protocol.InferResponse}. Nothing here knows about models or sessions.
 */
package dev.vigil.server.protocol;
