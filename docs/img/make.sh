#!/usr/bin/env sh
# Regenerates the manual's pictures in docs/img/ from ffmotion's own demo clip, with ffmotion
# and the ffmpeg it bundles (imageio-ffmpeg); nothing else is needed (no ffmpeg on PATH).
#   pip install -e . && sh docs/img/make.sh
# preview.png is a screenshot of `ffmotion preview` (not made here).
# Labels use drawtext; FONT names the font file (default: DejaVu Sans, Debian's fonts-dejavu-core).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
FFMPEG=$(python -c 'import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())')
FONT=${FONT:-/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ff() { "$FFMPEG" -hide_banner -loglevel error -nostdin -y "$@"; }
# a small PNG: one palette for the picture (each picture here has few colours)
small() {  # small IN.png OUT.png [COLOURS]
    ff -i "$1" -filter_complex "split[a][b];[a]palettegen=max_colors=${3:-256}[p];[b][p]paletteuse=dither=none" \
        -frames:v 1 -compression_level 100 "$2"
}
label() { echo "drawtext=fontfile=$FONT:text='$1':x=6:y=h-th-6:fontsize=14:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=4"; }

ffmotion demo "$tmp" -q >/dev/null
clip="$tmp/ffmotion-demo-input.mp4"   # 640x360, 30 fps, 6 s
K=6                                    # 0.2 s, the demo's offset
at=75                                  # the frame shown: 2.5 s in
W=240

# one motion frame: input frame $at against frame $at+K. The range starts 30 frames earlier
# (a trail has a past to show) and ends after $at+3K (the color look compares up to 3K).
frame() {  # frame NAME [look flags...]
    name=$1; shift
    mkdir -p "$tmp/$name"
    ffmotion "$clip" "$tmp/$name/f%04d.png" -k $K --start $((at - 30))f --end $((at + 3 * K + 1))f \
        --width $W -q -y "$@"
    mv "$tmp/$name/f0031.png" "$tmp/$name.png"
}

# 1. the idea: frame i, the inverted frame i+K, and their 50% blend
ff -i "$clip" -filter_complex \
    "[0:v]select='eq(n\,$at)',format=rgb24,scale=$W:-1,$(label 'frame i')[a];
     [0:v]select='eq(n\,$((at + K)))',format=rgb24,scale=$W:-1,negate,$(label 'frame i+K, inverted')[b]" \
    -map '[a]' -frames:v 1 "$tmp/a.png" -map '[b]' -frames:v 1 "$tmp/b.png"
frame classic
ff -i "$tmp/a.png" -i "$tmp/b.png" -i "$tmp/classic.png" -filter_complex \
    "[2:v]$(label 'the blend of both = motion')[c];[0:v][1:v][c]hstack=3" "$tmp/idea.png"
small "$tmp/idea.png" "$here/idea.png"

# 2. the looks: the original frame and every built-in preset
looks="classic amplified difference color trails overlay grain glow clean matte soft-matte keyed screen-glow"
ff -i "$clip" -vf "select='eq(n\,$at)',format=rgb24,scale=$W:-1" -frames:v 1 "$tmp/original.png"
inputs="-i $tmp/original.png"
chain="[0:v]$(label original)[c0];"
n=1
for look in $looks; do
    frame "look-$look" --look "$look"
    inputs="$inputs -i $tmp/look-$look.png"
    chain="$chain[$n:v]$(label "$look")[c$n];"
    n=$((n + 1))
done
# 14 cells in a 5x3 grid, the last one black
cells=""
i=0
while [ $i -lt $n ]; do cells="$cells[c$i]"; i=$((i + 1)); done
# shellcheck disable=SC2086
ff $inputs -f lavfi -i "color=black:size=${W}x135" -filter_complex \
    "$chain[$n:v]trim=end_frame=1[blank];${cells}[blank]xstack=inputs=15:grid=5x3" -frames:v 1 "$tmp/looks.png"
small "$tmp/looks.png" "$here/looks.png" 96

# 3. the offset: one contact sheet, rows K = 1, 6, 30 frames
ffmotion sheet "$clip" --offsets 1,6,30 --columns 3 --cell-width 200 -o "$tmp/sheet.png" -q -y
small "$tmp/sheet.png" "$here/offsets.png"

# 4. motion maps: where it moved (mean), and when (--color time)
ffmotion map "$clip" -k $K -o "$tmp/map.png" -q -y
ffmotion map "$clip" -k $K --color time -o "$tmp/map-time.png" -q -y
ff -i "$tmp/map.png" -i "$tmp/map-time.png" -filter_complex \
    "[0:v]scale=320:-2,format=rgb24,$(label 'map (mean)')[a];[1:v]scale=320:-2,$(label 'map --color time')[b];[a][b]hstack" \
    "$tmp/maps.png"
small "$tmp/maps.png" "$here/maps.png"

ls -l "$here"/*.png
