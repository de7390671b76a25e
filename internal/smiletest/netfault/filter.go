//go:build linux

package netfault

import (
	"encoding/binary"
	"fmt"
	"slices"

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

// chainSpec is one of netfault's chains: a filter chain at a hook, or the
// raw chain that runs before connection tracking, or the NAT chain.
type chainSpec struct {
	typ      nftables.ChainType
	hook     *nftables.ChainHook
	priority *nftables.ChainPriority
}

var chains = map[string]chainSpec{
	"input":       {nftables.ChainTypeFilter, nftables.ChainHookInput, nftables.ChainPriorityFilter},
	"output":      {nftables.ChainTypeFilter, nftables.ChainHookOutput, nftables.ChainPriorityFilter},
	"forward":     {nftables.ChainTypeFilter, nftables.ChainHookForward, nftables.ChainPriorityFilter},
	"raw":         {nftables.ChainTypeFilter, nftables.ChainHookPrerouting, nftables.ChainPriorityRaw},
	"postrouting": {nftables.ChainTypeNAT, nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource},
}

// placed is a rule and the chain it goes in.
type placed struct {
	chain string
	exprs []expr.Any
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

// addRule adds the fault's rules, creating netfault's table and the chains
// they need on first use, in one netlink transaction.
func addRule(f Fault) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	t := c.AddTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: table})
	accept := nftables.ChainPolicyAccept
	made := map[string]*nftables.Chain{}
	for _, r := range Rules(f) {
		ch := made[r.chain]
		if ch == nil {
			spec := chains[r.chain]
			ch = c.AddChain(&nftables.Chain{Name: r.chain, Table: t, Type: spec.typ,
				Hooknum: spec.hook, Priority: spec.priority, Policy: &accept})
			made[r.chain] = ch
		}
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: r.exprs})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	return nil
}

// Rules are the fault's rules, each with its chain.
func Rules(f Fault) []placed {
	fam := family(f.Family)
	switch f.Kind {
	case "drop-sent", "drop-larger":
		return []placed{{"output", Exprs(f)}}
	case "drop-forward":
		return []placed{{"forward", append(fam, &expr.Verdict{Kind: expr.VerdictDrop})}}
	case "drop-too-big":
		var rs []placed
		for _, chain := range []string{"forward", "output"} {
			if f.Family != "ipv6" {
				rs = append(rs, placed{chain, icmpType(unix.NFPROTO_IPV4, unix.IPPROTO_ICMP, []byte{3, 4})})
			}
			if f.Family != "ipv4" {
				rs = append(rs, placed{chain, icmpType(unix.NFPROTO_IPV6, unix.IPPROTO_ICMPV6, []byte{2})})
			}
		}
		return rs
	case "masquerade":
		var rs []placed
		for _, proto := range []byte{unix.IPPROTO_TCP, unix.IPPROTO_UDP} {
			rs = append(rs, placed{"postrouting", append(slices.Clone(fam), meta(expr.MetaKeyL4PROTO), eq([]byte{proto}), &expr.Masq{})})
		}
		return rs
	case "lose":
		// udp dport N numgen random mod 100 < P drop; as for `meta
		// length` (Exprs), the number is turned big-endian for cmp.
		return []placed{{"forward", append(fam, meta(expr.MetaKeyL4PROTO), eq([]byte{unix.IPPROTO_UDP}),
			tcp(tcpDestPort, 2), eq(binary.BigEndian.AppendUint16(nil, f.Port)),
			&expr.Numgen{Register: 1, Modulus: 100, Type: unix.NFT_NG_RANDOM},
			&expr.Byteorder{SourceRegister: 1, DestRegister: 1, Op: expr.ByteorderHton, Len: 4, Size: 4},
			&expr.Cmp{Op: expr.CmpOpLt, Register: 1, Data: binary.BigEndian.AppendUint32(nil, uint32(f.Percent))},
			&expr.Verdict{Kind: expr.VerdictDrop})}}
	case "lose-state":
		port := binary.BigEndian.AppendUint16(nil, f.Port)
		// What the port sends without SYN goes to conntrack zone 1,
		// where no entry for the flow exists.
		zone := append(slices.Clone(fam), meta(expr.MetaKeyL4PROTO), eq([]byte{unix.IPPROTO_TCP}),
			tcp(tcpSourcePort, 2), eq(port), tcp(tcpFlags, 1), mask(tcpSYN), eq([]byte{0}),
			&expr.Immediate{Register: 1, Data: binary.NativeEndian.AppendUint16(nil, 1)},
			&expr.Ct{Key: expr.CtKeyZONE, Register: 1, SourceRegister: true})
		// A stateful firewall: invalid packets, and new ones that are
		// not a SYN, are dropped.
		invalid := []expr.Any{&expr.Ct{Key: expr.CtKeySTATE, Register: 1},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
				Mask: binary.NativeEndian.AppendUint32(nil, expr.CtStateBitINVALID), Xor: make([]byte, 4)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
			&expr.Verdict{Kind: expr.VerdictDrop}}
		newNotSYN := []expr.Any{&expr.Ct{Key: expr.CtKeySTATE, Register: 1},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
				Mask: binary.NativeEndian.AppendUint32(nil, expr.CtStateBitNEW), Xor: make([]byte, 4)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
			meta(expr.MetaKeyL4PROTO), eq([]byte{unix.IPPROTO_TCP}),
			tcp(tcpFlags, 1), mask(tcpSYN), eq([]byte{0}),
			&expr.Verdict{Kind: expr.VerdictDrop}}
		return []placed{{"raw", zone}, {"forward", invalid}, {"forward", newNotSYN}}
	case "drop-syn", "reject-syn":
		if f.Hook == "forward" {
			return []placed{{"forward", Exprs(f)}}
		}
	}
	return []placed{{"input", Exprs(f)}}
}

// family matches packets of the family, or every packet for "all".
func family(f string) []expr.Any {
	switch f {
	case "ipv4":
		return []expr.Any{meta(expr.MetaKeyNFPROTO), eq([]byte{unix.NFPROTO_IPV4})}
	case "ipv6":
		return []expr.Any{meta(expr.MetaKeyNFPROTO), eq([]byte{unix.NFPROTO_IPV6})}
	}
	return nil
}

// icmpType matches ICMP or ICMPv6 messages whose first bytes (type, code)
// are typeCode.
func icmpType(nfproto, l4proto byte, typeCode []byte) []expr.Any {
	return []expr.Any{meta(expr.MetaKeyNFPROTO), eq([]byte{nfproto}),
		meta(expr.MetaKeyL4PROTO), eq([]byte{l4proto}),
		tcp(0, uint32(len(typeCode))), eq(typeCode),
		&expr.Verdict{Kind: expr.VerdictDrop}}
}

// Exprs is the rule of a packet-filter fault: its matches, then its verdict.
func Exprs(f Fault) []expr.Any {
	e := family(f.Family)
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

// tcp loads n bytes of the transport header (TCP's, or ICMP's) at offset.
func tcp(offset, n uint32) expr.Any {
	return &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: offset, Len: n}
}

func mask(m byte) expr.Any {
	return &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 1, Mask: []byte{m}, Xor: []byte{0}}
}
