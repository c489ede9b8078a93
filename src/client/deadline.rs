//! Call deadlines on the client: a call not finished by its deadline fails with
//! `DEADLINE_EXCEEDED`, whatever the server says later.

use std::future::Future;
use std::time::{Duration, Instant};

use tonic::Streaming;

use super::ClientError;

/// The moment a call must be over by, and the timeout it came from (for messages).
#[derive(Debug, Clone, Copy)]
pub(super) struct CallDeadline {
    pub(super) at: Instant,
    pub(super) timeout: Duration,
}

impl CallDeadline {
    /// Returns the deadline of a call starting now, or `None` when `timeout` is too long
    /// to represent (such a call has no deadline of its own, only the header).
    pub(super) fn starting_now(timeout: Duration) -> Option<Self> {
        Instant::now()
            .checked_add(timeout)
            .map(|at| Self { at, timeout })
    }

    pub(super) fn exceeded(self, rpc: &'static str) -> ClientError {
        let message = format!(
            "the call did not finish within its {:?} deadline",
            self.timeout
        );
        ClientError::rpc(rpc, tonic::Status::deadline_exceeded(message))
    }
}

/// Awaits `call` under `deadline`: an answer (or error) that is not in before the deadline
/// makes the call fail with `DEADLINE_EXCEEDED`, whatever the server says later.
pub(super) async fn within<T>(
    rpc: &'static str,
    deadline: Option<CallDeadline>,
    call: impl Future<Output = Result<T, tonic::Status>>,
) -> Result<T, ClientError> {
    let Some(deadline) = deadline else {
        return call.await.map_err(|status| ClientError::rpc(rpc, status));
    };
    match tokio::time::timeout_at(deadline.at.into(), call).await {
        Ok(result) if Instant::now() < deadline.at => {
            result.map_err(|status| ClientError::rpc(rpc, status))
        }
        _ => Err(deadline.exceeded(rpc)),
    }
}

/// The messages of a response stream; the call's deadline covers the whole stream.
#[derive(Debug)]
pub struct ResponseStream<T> {
    pub(super) inner: Streaming<T>,
    pub(super) rpc: &'static str,
    pub(super) deadline: Option<CallDeadline>,
}

impl<T> ResponseStream<T> {
    /// Returns the next message, or `None` once the server ended the call with OK.
    ///
    /// # Errors
    /// [`ClientError::Rpc`] with the status that ended the call, or `DEADLINE_EXCEEDED`
    /// when the call's deadline passes first.
    pub async fn message(&mut self) -> Result<Option<T>, ClientError> {
        within(self.rpc, self.deadline, self.inner.message()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deadline_in(timeout: Duration) -> Option<CallDeadline> {
        CallDeadline::starting_now(timeout)
    }

    fn code<T: std::fmt::Debug>(result: Result<T, ClientError>) -> Option<tonic::Code> {
        result.unwrap_err().code()
    }

    #[tokio::test]
    async fn a_call_not_finished_by_its_deadline_is_deadline_exceeded() {
        let answered = within("Get", deadline_in(Duration::from_secs(3600)), async {
            Ok(1)
        });
        assert_eq!(answered.await.unwrap(), 1);
        let status = within("Get", None, async {
            Err::<(), _>(tonic::Status::not_found("x"))
        });
        assert_eq!(code(status.await), Some(tonic::Code::NotFound));

        let never = std::future::pending::<Result<(), tonic::Status>>();
        let error = within("Get", deadline_in(Duration::from_millis(1)), never).await;
        let message = error.as_ref().unwrap_err().to_string();
        assert_eq!(
            message,
            "Get failed: DEADLINE_EXCEEDED: the call did not finish within its 1ms deadline"
        );
        // An answer that is ready only after the deadline does not count.
        let passed = Some(CallDeadline {
            at: Instant::now(),
            timeout: Duration::from_nanos(1),
        });
        let late = within("Get", passed, async { Ok(1) }).await;
        assert_eq!(code(late), Some(tonic::Code::DeadlineExceeded));
    }
}
