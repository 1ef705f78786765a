"""Cabinet-side ways in that are not the web page: the local command socket and its client, and the
`edge-agent health` gate that deployment tools run on the cabinet."""
