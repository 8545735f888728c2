package slack

import (
	"fmt"
	"strings"

	"github.com/reflexsec/reflex/notify"
)

// Message is a Slack message: top-level text (the notification fallback)
// and Block Kit blocks.
type Message struct {
	Channel     string  `json:"channel,omitempty"`
	Text        string  `json:"text"`
	Blocks      []Block `json:"blocks"`
	UnfurlLinks *bool   `json:"unfurl_links,omitempty"`
	UnfurlMedia *bool   `json:"unfurl_media,omitempty"`
}

// Block is a Block Kit layout block (header, section, context, divider).
type Block struct {
	Type     string  `json:"type"`
	Text     *Text   `json:"text,omitempty"`
	Fields   []*Text `json:"fields,omitempty"`
	Elements []*Text `json:"elements,omitempty"`
}

// Text is a Block Kit text object.
type Text struct {
	Type     string `json:"type"` // plain_text | mrkdwn
	Text     string `json:"text"`
	Emoji    *bool  `json:"emoji,omitempty"`
	Verbatim *bool  `json:"verbatim,omitempty"`
}

var yes = true

func plain(s string, max int) *Text {
	return &Text{Type: "plain_text", Text: clip(Escape(oneLine(s)), max), Emoji: &yes}
}

// mrkdwn makes a mrkdwn text object from markup reflex built (finding
// text in it already escaped). verbatim keeps Slack from linking bare URLs
// and channel names on its own.
func mrkdwn(s string, max int) *Text {
	return &Text{Type: "mrkdwn", Text: clip(s, max), Verbatim: &yes}
}

// Escape escapes &, < and > as Slack's docs require, so the text cannot
// form a mention (<!channel>, <@U…>, <#C…>) or a link (<url|label>).
func Escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// prose escapes untrusted text for mrkdwn: Escape, then the formatting
// characters * _ ~ ` replaced by look-alikes (Slack has no backslash
// escape), so the text cannot format itself or the text around it.
var proseReplacer = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;",
	"*", "∗", "_", "ˍ", "~", "∼", "`", "ˋ")

// Prose escapes untrusted text for a mrkdwn text object.
func Prose(s string) string { return proseReplacer.Replace(s) }

// Code shows untrusted text as inline code, where Slack applies no
// formatting: Escape, backticks replaced, on one line.
func Code(s string) string {
	if s == "" {
		return "—"
	}
	return "`" + strings.ReplaceAll(Escape(oneLine(s)), "`", "ˋ") + "`"
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0x2028 || r == 0x2029 {
			return ' '
		}
		return r
	}, s)), " ")
}

// clip cuts s to at most max characters (runes), never inside an entity
// and never leaving a code span open.
func clip(s string, max int) string {
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	cut := string(r[:max-2])
	if i := strings.LastIndexByte(cut, '&'); i >= 0 && !strings.Contains(cut[i:], ";") {
		cut = cut[:i]
	}
	if strings.Count(cut, "`")%2 == 1 {
		cut = cut[:strings.LastIndexByte(cut, '`')]
	}
	return cut + "…"
}

// Build makes the Slack message for n. A user template replaces the header
// (title) and the summary text; the data it sees is escaped for mrkdwn.
func Build(n *notify.Notification, t *notify.Template) (*Message, error) {
	title, text, err := t.Render(n, Prose)
	if err != nil {
		return nil, err
	}
	no := false
	m := &Message{UnfurlLinks: &no, UnfurlMedia: &no}
	if title == "" {
		m.Blocks = append(m.Blocks, Block{Type: "header", Text: plain(notify.Title(n), maxHeader)})
		m.Text = clip(Prose(oneLine(notify.Title(n))), maxText)
	} else {
		// the template's output holds escaped data; the header is plain text
		m.Blocks = append(m.Blocks, Block{Type: "header", Text: &Text{Type: "plain_text", Text: clip(oneLine(title), maxHeader)}})
		m.Text = clip(oneLine(title), maxText)
	}
	if text != "" {
		m.Blocks = append(m.Blocks, Block{Type: "section", Text: mrkdwn(text, maxSectionText)})
	}
	if n.Total == 1 || len(n.Events) == 1 {
		m.Blocks = append(m.Blocks, detail(n.First())...)
	} else {
		m.Blocks = append(m.Blocks, summary(n)...)
	}
	if len(m.Blocks) > maxBlocks {
		m.Blocks = m.Blocks[:maxBlocks]
	}
	return m, nil
}

// detail is the full account of one event.
func detail(ev *notify.Event) []Block {
	var bs []Block
	if ev.Finding.Title != "" {
		bs = append(bs, Block{Type: "section", Text: plain(ev.Finding.Title, maxSectionText)})
	}
	var fields []*Text
	for _, f := range notify.Fields(ev) {
		fields = append(fields, mrkdwn("*"+f[0]+"*\n"+Code(f[1]), maxFieldText))
	}
	if len(fields) > maxFields {
		fields = fields[:maxFields]
	}
	bs = append(bs, Block{Type: "section", Fields: fields})
	if d := notify.Decision(ev); d != "" {
		bs = append(bs, Block{Type: "section", Text: mrkdwn("*Decision*\n"+Prose(d), maxSectionText)})
	}
	if len(ev.Steps) > 0 {
		var b strings.Builder
		b.WriteString("*Steps*")
		for _, s := range ev.Steps {
			b.WriteString("\n" + notify.StepIcon(s.Status) + " " + Code(s.Name))
			if s.Target != "" {
				b.WriteString(" on " + Code(s.Target))
			}
			b.WriteString(": " + Prose(oneLine(notify.StepText(s))))
		}
		bs = append(bs, Block{Type: "section", Text: mrkdwn(b.String(), maxSectionText)})
	}
	if ev.Release != "" {
		bs = append(bs, Block{Type: "section", Text: mrkdwn("*To release*\n"+Code(ev.Release), maxSectionText)})
	}
	if ctx := links(ev); ctx != nil {
		bs = append(bs, *ctx)
	}
	return bs
}

// links is a context block of console links; URLs come from notify.Links
// (validated identifiers) and are escaped as Slack asks.
func links(ev *notify.Event) *Block {
	ls := notify.Links(&ev.Finding)
	if len(ls) == 0 {
		return nil
	}
	var els []*Text
	for _, l := range ls {
		if len(els) == maxContext {
			break
		}
		els = append(els, mrkdwn("<"+Escape(l.URL)+"|"+Prose(l.Label)+">", maxSectionText))
	}
	return &Block{Type: "context", Elements: els}
}

// summary lists the events of a group, one line each.
func summary(n *notify.Notification) []Block {
	var b strings.Builder
	for i, ev := range n.Events {
		if i > 0 {
			b.WriteString("\n")
		}
		f := &ev.Finding
		fmt.Fprintf(&b, "• %s %s on %s in %s/%s: %s", Prose(f.Band), Code(f.Type), Code(f.Resource.Label()),
			Code(f.Account), Code(f.Region), Prose(ev.Headline()))
	}
	bs := []Block{{Type: "section", Text: mrkdwn(b.String(), maxSectionText)}}
	var ctx []*Text
	if m := n.More(); m > 0 {
		ctx = append(ctx, mrkdwn(fmt.Sprintf("… and %d more not shown (%d in all). `reflex history` lists them.", m, n.Total), 300))
	}
	if n.Suppressed > 0 {
		ctx = append(ctx, mrkdwn(fmt.Sprintf("%d messages merged by the channel's rate limit.", n.Suppressed), 300))
	}
	if len(ctx) > 0 {
		bs = append(bs, Block{Type: "context", Elements: ctx})
	}
	if l := links(n.First()); l != nil {
		bs = append(bs, *l)
	}
	return bs
}
