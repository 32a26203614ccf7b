//! Nothing is lost on restart: images and named volumes live on the data disk.

use berth_e2e::*;

#[test]
fn a_named_volume_and_images_survive_berth_restart() {
    let img = web_image();
    let vol = "berth-e2e-vol";
    let _ = docker(&["volume", "rm", "-f", vol]);
    docker(&["volume", "create", vol]).ok();
    docker(&["run", "--rm", "-v", &format!("{vol}:/data"), img, "sh", "-c", "echo kept > /data/file && sync"]).ok();

    let r = berth(&["restart"]).ok();
    assert!(r.stdout.contains("is ready"), "{}", r.stdout);

    let read = docker(&["run", "--rm", "-v", &format!("{vol}:/data"), img, "cat", "/data/file"]).ok();
    assert_eq!(read.stdout, "kept\n");
    docker(&["volume", "rm", vol]).ok();
    let s = status();
    assert_eq!(s["state"], "running");
    assert!(s["uptime_s"].as_u64().is_some());
}
