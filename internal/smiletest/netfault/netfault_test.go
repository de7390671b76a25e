//go:build linux

package netfault

import (
	"bytes"
	"context"
	"net/netip"
	"testing"

	"github.com/google/nftables/expr"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestParse(t *testing.T) {
	cases := []struct {
		args []string
		want Fault
		says string
	}{
		{[]string{"drop-syn"}, Fault{Kind: "drop-syn", Family: "all", Port: 7890}, "dropping IPv4 and IPv6 SYNs to port 7890"},
		{[]string{"drop-syn", "-family", "ipv6", "-port", "8000"}, Fault{Kind: "drop-syn", Family: "ipv6", Port: 8000}, "dropping IPv6 SYNs to port 8000"},
		{[]string{"reject-syn", "-with", "icmp-admin-prohibited"}, Fault{Kind: "reject-syn", Family: "all", Port: 7890, With: "icmp-admin-prohibited"},
			"rejecting IPv4 and IPv6 SYNs to port 7890 with icmp-admin-prohibited"},
		{[]string{"drop-sent"}, Fault{Kind: "drop-sent", Family: "all", Port: 7890}, "dropping what port 7890 sends over IPv4 and IPv6 after its SYN-ACK"},
		{[]string{"drop-larger", "-than", "1280"}, Fault{Kind: "drop-larger", Family: "all", Port: 7890, Than: 1280}, "dropping outgoing IPv4 and IPv6 packets over 1280 bytes"},
		{[]string{"reject-syn", "-with", "tcp-reset", "-hook", "forward", "-family", "ipv6"},
			Fault{Kind: "reject-syn", Family: "ipv6", Port: 7890, With: "tcp-reset", Hook: "forward"},
			"rejecting forwarded IPv6 SYNs to port 7890 with tcp-reset"},
		{[]string{"route", "-advmss", "1460", "172.30.6.0/24", "172.30.5.254", "fd00:6::/64", "fd00:5::fe"},
			Fault{Kind: "route", Family: "all", Port: 7890, AdvMSS: 1460, Routes: []Route{
				{netip.MustParsePrefix("172.30.6.0/24"), netip.MustParseAddr("172.30.5.254")},
				{netip.MustParsePrefix("fd00:6::/64"), netip.MustParseAddr("fd00:5::fe")}}},
			"routing 172.30.6.0/24 via 172.30.5.254, fd00:6::/64 via fd00:5::fe, advertising MSS 1460"},
		{[]string{"mtu", "-to", "1280", "172.30.5.254", "fd00:5::fe"},
			Fault{Kind: "mtu", Family: "all", Port: 7890, MTU: 1280, Links: []netip.Addr{netip.MustParseAddr("172.30.5.254"), netip.MustParseAddr("fd00:5::fe")}},
			"setting the MTU of the links of 172.30.5.254, fd00:5::fe to 1280"},
		{[]string{"route-mtu", "-to", "1280", "172.30.5.0/24", "fd00:5::/64"},
			Fault{Kind: "route-mtu", Family: "all", Port: 7890, MTU: 1280, Dsts: []netip.Prefix{netip.MustParsePrefix("172.30.5.0/24"), netip.MustParsePrefix("fd00:5::/64")}},
			"setting the MTU of the routes to 172.30.5.0/24, fd00:5::/64 to 1280, the links' own left as they are"},
		{[]string{"drop-forward", "-family", "ipv4"}, Fault{Kind: "drop-forward", Family: "ipv4", Port: 7890}, "dropping every forwarded IPv4 packet"},
		{[]string{"drop-too-big"}, Fault{Kind: "drop-too-big", Family: "all", Port: 7890}, `dropping IPv4 and IPv6 "too big" errors, forwarded and sent`},
		{[]string{"masquerade"}, Fault{Kind: "masquerade", Family: "all", Port: 7890}, "masquerading forwarded IPv4 and IPv6 TCP and UDP"},
		{[]string{"lose", "-percent", "20", "-family", "ipv4"}, Fault{Kind: "lose", Family: "ipv4", Port: 7890, Percent: 20},
			"dropping 20 % of forwarded IPv4 datagrams to port 7890 at random"},
		{[]string{"addr", "172.30.5.201/24", "fd00:5::c9/64"},
			Fault{Kind: "addr", Family: "all", Port: 7890, Addrs: []netip.Prefix{netip.MustParsePrefix("172.30.5.201/24"), netip.MustParsePrefix("fd00:5::c9/64")}},
			"adding the addresses 172.30.5.201/24, fd00:5::c9/64"},
		{[]string{"answer-naive", "-port", "7891"}, Fault{Kind: "answer-naive", Family: "all", Port: 7891},
			"answering datagrams to port 7891 from a wildcard socket, as a naive server does"},
		{[]string{"lose-state"}, Fault{Kind: "lose-state", Family: "all", Port: 7890}, "forgetting forwarded IPv4 and IPv6 flows of port 7890 after their SYN-ACK"},
		{[]string{"unroute", "fd00::10"}, Fault{Kind: "unroute", Family: "all", Port: 7890, Addr: netip.MustParseAddr("fd00::10")}, "removing the routes to fd00::10"},
		{[]string{"clear"}, Fault{Kind: "clear", Family: "all", Port: 7890}, "removing every packet-filter fault"},
	}
	for _, c := range cases {
		t.Run(c.says, func(t *testing.T) {
			f, err := Parse(c.args)
			require.NoError(t, err)
			assert.Equal(t, c.want, f)
			assert.Equal(t, c.says, f.String())
		})
	}
}

// TestParseAll reads a router's setup: faults in order, hold last.
func TestParseAll(t *testing.T) {
	faults, err := ParseAll([]string{"drop-forward", "-family", "ipv6", "+", "masquerade", "+", "hold"})
	require.NoError(t, err)
	var kinds []string
	for _, f := range faults {
		kinds = append(kinds, f.Kind)
	}
	assert.Equal(t, []string{"drop-forward", "masquerade", "hold"}, kinds)
	assert.Equal(t, "ipv6", faults[0].Family)

	hold, err := Parse([]string{"hold", "-exec", "/run/smile-exec/exec.sock", "-user", "1000:100"})
	require.NoError(t, err)
	assert.Equal(t, Fault{Kind: "hold", Family: "all", Port: 7890, Exec: "/run/smile-exec/exec.sock",
		Program: "/smile-client", UID: 1000, GID: 100}, hold)
}

func TestBadInvocations(t *testing.T) {
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{nil, "Usage: netfault FAULT"},
		{[]string{"flood"}, `netfault: unknown fault "flood"`},
		{[]string{"reject-syn"}, `netfault: bad -with ""`},
		{[]string{"drop-syn", "-family", "ipx"}, `netfault: bad -family "ipx"`},
		{[]string{"drop-syn", "-port", "0"}, "netfault: bad -port 0"},
		{[]string{"drop-larger", "-than", "20"}, "netfault: bad -than 20"},
		{[]string{"unroute"}, "netfault: unroute takes 1 arguments"},
		{[]string{"unroute", "not-an-address"}, `netfault: bad address "not-an-address"`},
		{[]string{"drop-syn", "extra"}, "netfault: drop-syn takes 0 arguments"},
		{[]string{"clear", "-family", "ipv6"}, "netfault: clear: flag provided but not defined: -family"},
		{[]string{"drop-syn", "-hook", "prerouting"}, `netfault: bad -hook "prerouting"`},
		{[]string{"route", "172.30.6.0/24"}, "netfault: route takes pairs of PREFIX GW"},
		{[]string{"route", "172.30.6.0/24", "fd00::1"}, "gateway is of the other family"},
		{[]string{"route", "172.30.6.0/33", "172.30.5.1"}, `netfault: bad prefix "172.30.6.0/33"`},
		{[]string{"mtu", "-to", "1000", "172.30.5.1"}, "netfault: bad -to 1000"},
		{[]string{"mtu", "-to", "1280"}, "netfault: mtu takes one or more addresses"},
		{[]string{"route-mtu", "-to", "1280"}, "netfault: route-mtu takes one or more prefixes"},
		{[]string{"route-mtu", "-to", "1280", "172.30.5.1"}, `netfault: bad prefix "172.30.5.1"`},
		{[]string{"route-mtu", "-to", "70000", "172.30.5.0/24"}, "netfault: bad -to 70000"},
		{[]string{"lose"}, "netfault: bad -percent -1"},
		{[]string{"lose", "-percent", "101"}, "netfault: bad -percent 101"},
		{[]string{"addr"}, "netfault: addr takes one or more addresses"},
		{[]string{"addr", "172.30.5.201"}, `netfault: bad address "172.30.5.201": want ADDR/BITS`},
		{[]string{"drop-forward", "+"}, `netfault: a fault is missing around "+"`},
		{[]string{"hold", "+", "drop-forward"}, "netfault: hold must be the last fault"},
		{[]string{"hold", "-exec", "/run/x.sock", "-user", "nobody"}, `bad -user "nobody": want UID:GID`},
		{[]string{"hold", "-exec", "/run/x.sock", "-user", "1:x"}, `bad -user "1:x": want numeric UID:GID`},
	} {
		var out, errOut bytes.Buffer
		assert.Equal(t, exitUsage, Run(context.Background(), c.args, &out, &errOut), "%q", c.args)
		assert.Contains(t, errOut.String(), c.msg, "%q", c.args)
		assert.Empty(t, out.String())
	}
}

// TestExprs pins the parts of the rules that are easy to get wrong and
// that the path-fault matrix depends on: the SYN-without-ACK flag test,
// the length turned big-endian before an ordered compare (cmp orders
// bytes like memcmp), and the ICMPX reject codes.
func TestExprs(t *testing.T) {
	syn := Exprs(Fault{Kind: "drop-syn", Family: "ipv4", Port: 7890})
	assert.Equal(t, []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV4}},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0x1e, 0xd2}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 13, Len: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 1, Mask: []byte{0x12}, Xor: []byte{0}},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0x02}},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}, syn)

	big := Exprs(Fault{Kind: "drop-larger", Family: "all", Than: 1280})
	assert.Equal(t, []expr.Any{
		&expr.Meta{Key: expr.MetaKeyLEN, Register: 1},
		&expr.Byteorder{SourceRegister: 1, DestRegister: 1, Op: expr.ByteorderHton, Len: 4, Size: 4},
		&expr.Cmp{Op: expr.CmpOpGt, Register: 1, Data: []byte{0, 0, 5, 0}},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}, big)

	lose := Rules(Fault{Kind: "lose", Family: "all", Port: 7890, Percent: 5})
	require.Len(t, lose, 1)
	assert.Equal(t, "forward", lose[0].chain)
	assert.Equal(t, []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_UDP}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0x1e, 0xd2}},
		&expr.Numgen{Register: 1, Modulus: 100, Type: unix.NFT_NG_RANDOM},
		&expr.Byteorder{SourceRegister: 1, DestRegister: 1, Op: expr.ByteorderHton, Len: 4, Size: 4},
		&expr.Cmp{Op: expr.CmpOpLt, Register: 1, Data: []byte{0, 0, 0, 5}},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}, lose[0].exprs)

	for with, want := range map[string]*expr.Reject{
		"tcp-reset":             {Type: unix.NFT_REJECT_TCP_RST},
		"icmp-unreachable":      {Type: unix.NFT_REJECT_ICMPX_UNREACH, Code: unix.NFT_REJECT_ICMPX_HOST_UNREACH},
		"icmp-admin-prohibited": {Type: unix.NFT_REJECT_ICMPX_UNREACH, Code: unix.NFT_REJECT_ICMPX_ADMIN_PROHIBITED},
	} {
		e := Exprs(Fault{Kind: "reject-syn", Family: "all", Port: 7890, With: with})
		assert.Equal(t, want, e[len(e)-1], with)
	}
}
