//! gRPC status codes to their HTTP equivalents, so every kind carries an
//! HTTP-equivalent status (the mapping gRPC gateways use).

/// The HTTP equivalent of a gRPC status code; `None` for a code gRPC does
/// not define (0..=16 are defined).
pub fn grpc_to_http(code: i64) -> Option<u16> {
    let http = match code {
        0 => 200,  // OK
        1 => 499,  // CANCELLED
        2 => 500,  // UNKNOWN
        3 => 400,  // INVALID_ARGUMENT
        4 => 504,  // DEADLINE_EXCEEDED
        5 => 404,  // NOT_FOUND
        6 => 409,  // ALREADY_EXISTS
        7 => 403,  // PERMISSION_DENIED
        8 => 429,  // RESOURCE_EXHAUSTED
        9 => 400,  // FAILED_PRECONDITION
        10 => 409, // ABORTED
        11 => 400, // OUT_OF_RANGE
        12 => 501, // UNIMPLEMENTED
        13 => 500, // INTERNAL
        14 => 503, // UNAVAILABLE
        15 => 500, // DATA_LOSS
        16 => 401, // UNAUTHENTICATED
        _ => return None,
    };
    Some(http)
}
