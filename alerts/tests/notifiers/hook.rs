//! A webhook receiver (axum) that hands each request to the test, and a server that never answers.

use super::*;

pub(crate) struct Request {
    pub(crate) at: Instant,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// A scripted answer: the status, and a `Retry-After` value.
type Answer = (StatusCode, Option<&'static str>);

#[derive(Clone)]
pub(crate) struct HookState {
    /// Answers to give, in order; 200 once they are used up.
    pub(crate) script: Arc<Mutex<VecDeque<Answer>>>,
    pub(crate) requests: mpsc::UnboundedSender<Request>,
}

pub(crate) struct Hook {
    pub(crate) url: String,
    pub(crate) requests: mpsc::UnboundedReceiver<Request>,
}

impl Hook {
    pub(crate) async fn start(script: &[Answer]) -> Hook {
        let (tx, requests) = mpsc::unbounded_channel();
        let state =
            HookState { script: Arc::new(Mutex::new(script.iter().copied().collect())), requests: tx };
        let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Hook { url: format!("http://{addr}/hook"), requests }
    }

    pub(crate) async fn next(&mut self, within: Duration) -> Request {
        tokio::time::timeout(within, self.requests.recv())
            .await
            .expect("the webhook received nothing in time")
            .unwrap()
    }

    pub(crate) async fn nothing_more(&mut self, within: Duration) {
        if let Ok(Some(request)) = tokio::time::timeout(within, self.requests.recv()).await {
            panic!("unexpected webhook request: {:?}", request.headers.get("x-convoy-delivery"));
        }
    }
}

pub(crate) async fn receive(
    State(state): State<HookState>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let _ = state.requests.send(Request { at: Instant::now(), headers, body });
    let (status, retry_after) = state.script.lock().unwrap().pop_front().unwrap_or((StatusCode::OK, None));
    let mut response = (status, "scripted answer").into_response();
    if let Some(seconds) = retry_after {
        response.headers_mut().insert("retry-after", seconds.parse().unwrap());
    }
    response
}

/// A server that accepts connections and never answers.
pub(crate) struct BlackHole {
    pub(crate) url: String,
    pub(crate) accepted: watch::Receiver<usize>,
}

impl BlackHole {
    pub(crate) async fn start() -> BlackHole {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, accepted) = watch::channel(0);
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
                tx.send_replace(held.len());
            }
        });
        BlackHole { url: format!("http://{addr}/hook"), accepted }
    }

    pub(crate) async fn wait_accepted(&mut self, n: usize) {
        tokio::time::timeout(Duration::from_secs(5), self.accepted.wait_for(|&count| count >= n))
            .await
            .expect("no connection to the black hole")
            .unwrap();
    }
}

pub(crate) fn header<'a>(request: &'a Request, name: &str) -> &'a str {
    request.headers.get(name).unwrap_or_else(|| panic!("no {name} header")).to_str().unwrap()
}
