package netfault

import (
	"encoding/binary"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// table is the one nftables table netfault owns; its chains hook input and
// output at the filter priority, and every fault adds a rule to one of them.
const table = "netfault"

// TCP header offsets and flags the rules match on.
const (
	tcpSourcePort = 0
	tcpDestPort   = 2
	tcpFlags      = 13
	tcpSYN        = 0x02
	tcpACK        = 0x10
)

// addRule adds the fault's rule, creating netfault's table and chains on
// first use, in one netlink transaction.
func addRule(f Fault) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	t := c.AddTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: table})
	accept := nftables.ChainPolicyAccept
	chain := func(name string, hook *nftables.ChainHook) *nftables.Chain {
		return c.AddChain(&nftables.Chain{Name: name, Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: hook, Priority: nftables.ChainPriorityFilter, Policy: &accept})
	}
	in, out := chain("input", nftables.ChainHookInput), chain("output", nftables.ChainHookOutput)
	exprs := Exprs(f)
	ch := in
	if f.Kind == "drop-sent" || f.Kind == "drop-larger" {
		ch = out
	}
	c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: exprs})
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	return nil
}

// clearRules removes netfault's table, and with it every rule a fault
// added, so that a test can lift a fault and watch the path heal. A
// namespace without the table has nothing to clear: that is no error.
func clearRules() error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return fmt.Errorf("nftables: listing tables: %w", err)
	}
	for _, t := range tables {
		if t.Name == table {
			c.DelTable(t)
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	return nil
}

// Exprs is the rule of a packet-filter fault: its matches, then its verdict.
func Exprs(f Fault) []expr.Any {
	var e []expr.Any
	switch f.Family {
	case "ipv4":
		e = append(e, meta(expr.MetaKeyNFPROTO), eq([]byte{unix.NFPROTO_IPV4}))
	case "ipv6":
		e = append(e, meta(expr.MetaKeyNFPROTO), eq([]byte{unix.NFPROTO_IPV6}))
	}
	if f.Kind == "drop-larger" {
		// cmp orders bytes as memcmp does: the host-order length must be
		// turned big-endian first, as nft does for `meta length > N`.
		return append(e,
			meta(expr.MetaKeyLEN),
			&expr.Byteorder{SourceRegister: 1, DestRegister: 1, Op: expr.ByteorderHton, Len: 4, Size: 4},
			&expr.Cmp{Op: expr.CmpOpGt, Register: 1, Data: binary.BigEndian.AppendUint32(nil, uint32(f.Than))},
			&expr.Verdict{Kind: expr.VerdictDrop})
	}
	e = append(e, meta(expr.MetaKeyL4PROTO), eq([]byte{unix.IPPROTO_TCP}))
	port := binary.BigEndian.AppendUint16(nil, f.Port)
	switch f.Kind {
	case "drop-syn", "reject-syn":
		// A SYN without ACK: a new connection, not a SYN-ACK.
		e = append(e, tcp(tcpDestPort, 2), eq(port),
			tcp(tcpFlags, 1), mask(tcpSYN|tcpACK), eq([]byte{tcpSYN}))
	case "drop-sent":
		// Everything but the SYN-ACK, so the handshake completes.
		e = append(e, tcp(tcpSourcePort, 2), eq(port),
			tcp(tcpFlags, 1), mask(tcpSYN), eq([]byte{0}))
	}
	if f.Kind != "reject-syn" {
		return append(e, &expr.Verdict{Kind: expr.VerdictDrop})
	}
	switch f.With {
	case "tcp-reset":
		return append(e, &expr.Reject{Type: unix.NFT_REJECT_TCP_RST})
	case "icmp-unreachable":
		// ICMP host unreachable, ICMPv6 address unreachable.
		return append(e, &expr.Reject{Type: unix.NFT_REJECT_ICMPX_UNREACH, Code: unix.NFT_REJECT_ICMPX_HOST_UNREACH})
	default:
		// ICMP communication administratively prohibited (code 13), ICMPv6
		// administratively prohibited (code 1): a firewall's REJECT.
		return append(e, &expr.Reject{Type: unix.NFT_REJECT_ICMPX_UNREACH, Code: unix.NFT_REJECT_ICMPX_ADMIN_PROHIBITED})
	}
}

func meta(k expr.MetaKey) expr.Any { return &expr.Meta{Key: k, Register: 1} }

func eq(b []byte) expr.Any { return &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: b} }

func tcp(offset, n uint32) expr.Any {
	return &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: offset, Len: n}
}

func mask(m byte) expr.Any {
	return &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 1, Mask: []byte{m}, Xor: []byte{0}}
}
