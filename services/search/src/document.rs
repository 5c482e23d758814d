//! Records as the documents queries run over: abaco's snake_case field names, statuses by
//! their names, empty times as null, and a run's final state as the object it is.

use abaco::{pb, status};
use serde_json::{Value, json};

fn time(text: &str) -> Value {
    if text.is_empty() {
        Value::Null
    } else {
        Value::String(text.to_string())
    }
}

/// An actor.
pub fn actor(a: &pb::Actor) -> Value {
    json!({
        "id": a.id,
        "name": a.name,
        "image": a.image,
        "description": a.description,
        "owner": a.owner,
        "status": status::actor(a.status()),
        "status_message": a.status_message,
        "default_environment": a.default_environment,
        "stateless": a.stateless,
        "privileged": a.privileged,
        "use_container_uid": a.use_container_uid,
        "max_workers": a.max_workers,
        "min_workers": a.min_workers,
        "mem_limit": a.mem_limit,
        "max_cpus": a.max_cpus,
        "max_run_time": a.max_run_time,
        "hints": a.hints,
        "link": a.link,
        "webhook": a.webhook,
        "cron_schedule": a.cron_schedule,
        "cron_on": a.cron_on,
        "cron_next_ex": a.cron_next_ex,
        "log_ex": a.log_ex,
        "token": a.token,
        "queue": a.queue,
        "type": if a.r#type.is_empty() { "none" } else { a.r#type.as_str() },
        "revision": a.revision,
        "create_time": time(&a.create_time),
        "last_update_time": time(&a.last_update_time),
    })
}

/// An execution.
pub fn execution(e: &pb::Execution) -> Value {
    let final_state = if e.final_state.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&e.final_state).unwrap_or(Value::Null)
    };
    json!({
        "id": e.id,
        "actor_id": e.actor_id,
        "worker_id": e.worker_id,
        "executor": e.executor,
        "status": status::execution(e.status()),
        "status_message": e.status_message,
        "message_received_time": time(&e.message_received_time),
        "start_time": time(&e.start_time),
        "finish_time": time(&e.finish_time),
        "runtime": e.runtime,
        "cpu": e.cpu,
        "io": e.io,
        "exit_code": e.exit_code,
        "final_state": final_state,
    })
}

/// A worker.
pub fn worker(w: &pb::Worker) -> Value {
    json!({
        "id": w.id,
        "actor_id": w.actor_id,
        "status": status::worker(w.status()),
        "status_message": w.status_message,
        "image": w.image,
        "host_id": w.host_id,
        "revision": w.revision,
        "create_time": time(&w.create_time),
        "last_execution_time": time(&w.last_execution_time),
        "last_health_check_time": time(&w.last_health_check_time),
    })
}

/// The logs of an execution.
pub fn logs(actor_id: &str, execution_id: &str, logs: &str) -> Value {
    json!({
        "id": execution_id,
        "execution_id": execution_id,
        "actor_id": actor_id,
        "logs": logs,
    })
}
