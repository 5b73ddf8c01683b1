//! Cluster mode start-up: this node's identity and state from nodes.conf, or a new identity
//! saved there before the node serves anything.

use std::path::Path;

use shoal_cluster::{ClusterState, NodeId, conf};
use shoal_commands::Config;
use shoal_commands::ctx::Cluster;

/// The bus port to bind: `cluster-port`, else data port (the TLS port with `tls-cluster`) +
/// 10000; an ephemeral data port (`ephemeral-ports`) gets an ephemeral bus port too.
pub fn bus_port(cfg: &Config, port: u16) -> Result<u16, String> {
    if cfg.cluster.port != 0 {
        return Ok(cfg.cluster.port);
    }
    let ephemeral = if cfg.tls.cluster {
        cfg.tls.ephemeral_port
    } else {
        cfg.ephemeral_port
    };
    if ephemeral {
        return Ok(0);
    }
    if port == 0 {
        return Err(
            "the cluster bus needs a data port (port, or tls-port with tls-cluster)".into(),
        );
    }
    port.checked_add(10000).ok_or_else(|| {
        format!("port {port} is too high: the cluster bus port is port + 10000; set --cluster-port")
    })
}

/// Loads nodes.conf (a damaged file is an error: the node must not take a new identity
/// silently) or creates a new lone primary and saves it. The announced addresses come from the
/// configuration every time.
pub fn load_or_create(cfg: &Config, port: u16, cport: u16) -> Result<Cluster, String> {
    let path = Path::new(&cfg.dir).join(&cfg.cluster.config_file);
    let announce_port = cfg.cluster.announce_port.unwrap_or(port);
    let announce_bus = cfg.cluster.announce_bus_port.unwrap_or(cport);
    let mut st = match conf::load(&path)? {
        Some(st) => {
            tracing::info!("Node configuration loaded, I'm {}", st.myself);
            st
        }
        None => {
            let id = NodeId::random();
            tracing::info!("No cluster configuration found, I'm {id}");
            ClusterState::new(id, String::new(), announce_port, announce_bus)
        }
    };
    {
        let me = st.me_mut();
        me.port = announce_port;
        me.cport = announce_bus;
        if let Some(ip) = &cfg.cluster.announce_ip {
            me.ip = ip.clone();
        }
        me.hostname = cfg.cluster.announce_hostname.clone();
    }
    st.require_full_coverage = cfg.cluster.require_full_coverage;
    st.allow_reads_when_down = cfg.cluster.allow_reads_when_down;
    st.allow_pubsubshard_when_down = cfg.cluster.allow_pubsubshard_when_down;
    st.endpoint = shoal_cluster::Endpoint::parse(&cfg.cluster.preferred_endpoint_type);
    st.update_state();
    let c = Cluster::new(st, path);
    c.save()
        .map_err(|e| format!("can't write the cluster config file: {e}"))?;
    Ok(c)
}
