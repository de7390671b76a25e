package matrix

// The sites of docs/datagrams.md's table of the mesh across two sites.
const (
	SiteA = "site A"
	SiteB = "site B"
)

// MeshSitesRow is one kind of pair of docs/datagrams.md's table of the
// mesh across two sites: two mesh nodes in each site, the sites joined by
// a router whose routes towards both are 1,280 bytes while every link,
// its own included, is 1,500 (netfault route-mtu). Every cell of the kind
// shows this in both families, and is ok with no datagram lost.
type MeshSitesRow struct {
	From, To              string // the sites of the source and of the destination
	PathMTU, InterfaceMTU int
	// ReportedBy is the site whose router address sent the "fragmentation
	// needed" / "packet too big" the search read, "" for none.
	ReportedBy string
	Hops       int
	// Full: the cell travels in full in /matrix.json's cells, its path
	// being narrower than its interface, where an ok cell is a code alone.
	Full bool
}

// MeshSites is docs/datagrams.md's table of the mesh across two sites.
// The router answers from its address in the sender's site, the way back
// to the sender.
var MeshSites = []MeshSitesRow{
	{From: SiteA, To: SiteA, PathMTU: 1500, InterfaceMTU: 1500},
	{From: SiteB, To: SiteB, PathMTU: 1500, InterfaceMTU: 1500},
	{From: SiteA, To: SiteB, PathMTU: 1280, InterfaceMTU: 1500, ReportedBy: SiteA, Hops: 1, Full: true},
	{From: SiteB, To: SiteA, PathMTU: 1280, InterfaceMTU: 1500, ReportedBy: SiteB, Hops: 1, Full: true},
}
