//! `rrq-orchestrator send` and `cancel` against a tiny runner written in the test: the frames it
//! writes are canonical frames of the chosen version, and it prints the response as written.

use rrq_protocol::outcome::ExecutionOutcome;
use rrq_protocol::{v1, v2};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::thread;

const ORCHESTRATOR: &str = env!("CARGO_BIN_EXE_rrq-orchestrator");

fn read_frame(stream: &mut std::net::TcpStream) -> Vec<u8> {
    let mut header = [0u8; 4];
    stream.read_exact(&mut header).unwrap();
    let mut body = vec![0u8; u32::from_be_bytes(header) as usize];
    stream.read_exact(&mut body).unwrap();
    body
}

fn framed(body: Vec<u8>) -> Vec<u8> {
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend(body);
    frame
}

/// Serves one connection: answers its request with `success` and the request's inputs; hands
/// back the request body.
fn one_request(listener: TcpListener, protocol: &'static str) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let body = read_frame(&mut stream);
        let response = if protocol == "1" {
            let v1::RunnerMessage::Request { payload } = v1::decode_message(&body).unwrap() else {
                panic!()
            };
            assert_eq!(
                v1::encode_message(&v1::RunnerMessage::Request {
                    payload: payload.clone()
                })
                .unwrap(),
                body,
                "canonical"
            );
            let result = serde_json::json!({"args": payload.args, "kwargs": payload.kwargs});
            let outcome = ExecutionOutcome::success(payload.job_id, payload.request_id, result);
            v1::encode_message(&v1::RunnerMessage::Response { payload: outcome }).unwrap()
        } else {
            let v2::RunnerMessage::Request { payload } = v2::decode_message(&body).unwrap() else {
                panic!()
            };
            assert_eq!(
                v2::encode_message(&v2::RunnerMessage::Request {
                    payload: payload.clone()
                })
                .unwrap(),
                body,
                "canonical"
            );
            let outcome = ExecutionOutcome::success(
                payload.job_id,
                payload.request_id,
                serde_json::json!({"params": payload.params}),
            );
            v2::encode_message(&v2::RunnerMessage::Response { payload: outcome }).unwrap()
        };
        stream.write_all(&framed(response)).unwrap();
        body
    })
}

#[test]
fn send_speaks_both_versions_and_prints_the_response() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = one_request(listener, "1");
    let out = Command::new(ORCHESTRATOR)
        .args([
            "send",
            "--protocol",
            "1",
            "--address",
            &addr,
            "--function",
            "echo",
            "--args",
            "[1,2]",
            "--kwargs",
            r#"{"b":1,"a":[1.0]}"#,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "{\"type\":\"response\",\"payload\":{\"job_id\":\"job-1\",\"request_id\":\"job-1-request-1\",\"status\":\"success\",\"result\":{\"args\":[1,2],\"kwargs\":{\"a\":[1.0],\"b\":1}}}}\n"
    );
    assert!(String::from_utf8(server.join().unwrap())
        .unwrap()
        .contains(r#""args":[1,2],"kwargs":{"a":[1.0],"b":1}"#));

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = one_request(listener, "2");
    let out = Command::new(ORCHESTRATOR)
        .args([
            "send",
            "--address",
            &addr,
            "--function",
            "echo",
            "--params",
            r#"{"x":"é"}"#,
            "--deadline",
            "30",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .contains(r#""result":{"params":{"x":"é"}}"#));
    let request = String::from_utf8(server.join().unwrap()).unwrap();
    assert!(
        request.contains(r#""protocol_version":"2""#) && request.contains(r#""params":{"x":"é"}"#),
        "{request}"
    );
}

#[test]
fn inputs_of_the_other_version_and_a_missing_runner_are_errors() {
    let out = Command::new(ORCHESTRATOR)
        .args([
            "send",
            "--address",
            "127.0.0.1:1",
            "--function",
            "echo",
            "--args",
            "[1]",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("protocol 1 inputs"));
    let out = Command::new(ORCHESTRATOR)
        .args([
            "send",
            "--address",
            "127.0.0.1:1",
            "--function",
            "echo",
            "--timeout",
            "2",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn cancel_writes_one_cancel_frame() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let body = read_frame(&mut stream);
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
        body
    });
    let out = Command::new(ORCHESTRATOR)
        .args([
            "cancel",
            "--protocol",
            "1",
            "--address",
            &addr,
            "--job-id",
            "job-7",
            "--request-id",
            "req-7",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(server.join().unwrap()).unwrap(),
        r#"{"type":"cancel","payload":{"protocol_version":"1","job_id":"job-7","request_id":"req-7","hard_kill":false}}"#
    );
}
