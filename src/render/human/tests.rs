use super::fix::{Piece, pieces};
use super::text::{cols, split_line};

#[test]
fn split_line_keeps_every_character_within_the_width() {
    let cases = [
        ("short", 20),
        ("[talos] task setupSharedFilesystems (1/1): failed: invalid argument", 30),
        ("/a/very/long/path/without/any/space/at/all/that/goes/on/and/on", 12),
        ("日本語のログ行はそれぞれ二桁の幅を取ります 失敗しました: invalid argument", 16),
        ("a  b   c    d", 10),
    ];
    for (text, max) in cases {
        let pieces = split_line(text, max);
        for piece in &pieces {
            assert!(cols(piece) <= max.max(10), "{piece:?} wider than {max}");
        }
        let joined: String = pieces.concat();
        let squeezed: String = text.chars().filter(|c| *c != ' ').collect();
        assert_eq!(joined.replace(' ', ""), squeezed, "{text:?}");
        assert!(pieces.len() >= cols(text).div_ceil(max.max(10)), "{text:?}");
    }
}

#[test]
fn commands_are_cut_out_of_fix_steps() {
    use Piece::*;
    let step = "Or start it with the full spec: `docker run --privileged -v /var <image>` \
                with the tag of the image (one-word spans like `/var` stay).";
    assert_eq!(
        pieces(step),
        [
            Prose("Or start it with the full spec: "),
            Command("docker run --privileged -v /var <image>"),
            Prose(" with the tag of the image (one-word spans like `/var` stay)."),
        ]
    );
    assert_eq!(
        pieces("Run `talosctl cluster create`."),
        [Prose("Run "), Command("talosctl cluster create")]
    );
    assert_eq!(pieces("``echo ` b`` then"), [Command("echo ` b"), Prose(" then")]);
    // Config snippets and spans in parentheses stay in the sentence.
    let snippet = "Set servers (`machine.network.nameservers: [1.1.1.1]`) or `dns: x y`.";
    assert_eq!(pieces(snippet), [Prose(snippet)]);
    assert_eq!(pieces("a (`talosctl get x`) b"), [Prose("a (`talosctl get x`) b")]);
    assert_eq!(pieces("unclosed `x y"), [Prose("unclosed `x y")]);
    assert_eq!(pieces("add `-v /var -v /run`"), [Prose("add `-v /var -v /run`")]);
}

#[test]
fn display_width_is_not_a_count_of_chars() {
    assert_eq!(cols("abc"), 3);
    assert_eq!(cols("日本"), 4);
    assert_eq!(cols("e\u{301}"), 1);
}
