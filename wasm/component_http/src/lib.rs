//! `component_http`: a component that makes an outgoing HTTP GET request
//! with wasi:http (see `wit/fetcher.wit`).

use wasip2::http::outgoing_handler;
use wasip2::http::types::{Fields, Method, OutgoingRequest, Scheme};
use wasip2::io::streams::StreamError;

wit_bindgen::generate!({
    world: "fetcher",
    path: "wit",
});

struct Component;

impl Guest for Component {
    fn fetch(url: String) -> Result<String, String> {
        get(&url)
    }
}

/// Splits `scheme://authority/path?query` into its parts.
fn parse_url(url: &str) -> Result<(Scheme, &str, &str), String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("invalid url (no scheme): {url}"))?;
    let scheme = match scheme {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => return Err(format!("unsupported scheme: {other}")),
    };
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    if authority.is_empty() {
        return Err(format!("invalid url (no host): {url}"));
    }
    let path = if path.is_empty() { "/" } else { path };
    Ok((scheme, authority, path))
}

fn get(url: &str) -> Result<String, String> {
    let (scheme, authority, path) = parse_url(url)?;

    let request = OutgoingRequest::new(Fields::new());
    request
        .set_method(&Method::Get)
        .map_err(|()| "invalid method".to_string())?;
    request
        .set_scheme(Some(&scheme))
        .map_err(|()| "invalid scheme".to_string())?;
    request
        .set_authority(Some(authority))
        .map_err(|()| format!("invalid authority: {authority}"))?;
    request
        .set_path_with_query(Some(path))
        .map_err(|()| format!("invalid path: {path}"))?;

    let future = outgoing_handler::handle(request, None).map_err(|e| format!("{e:?}"))?;
    let response = loop {
        match future.get() {
            Some(result) => break result,
            None => future.subscribe().block(),
        }
    };
    let response = response
        .map_err(|()| "response already taken".to_string())?
        .map_err(|e| format!("{e:?}"))?;

    let status = response.status();
    let body = response
        .consume()
        .map_err(|()| "response body already taken".to_string())?;
    let mut bytes = Vec::new();
    {
        let stream = body
            .stream()
            .map_err(|()| "response body stream already taken".to_string())?;
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    return Err(format!("reading the body failed: {}", e.to_debug_string()))
                }
            }
        }
        // The stream must be dropped before the body is finished.
    }
    drop(wasip2::http::types::IncomingBody::finish(body));

    let text = String::from_utf8_lossy(&bytes).into_owned();
    if (200..300).contains(&status) {
        Ok(text)
    } else {
        Err(format!("HTTP {status}: {text}"))
    }
}

export!(Component);
