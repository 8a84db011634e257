# ffmotion with Debian's full-featured ffmpeg and ffprobe (docs/cli-conventions.md, "Docker").
#
#   docker build -t ffmotion .
#   docker run --rm -v "$PWD":/work ffmotion IN.mp4 OUT.mp4 -k 12
#   docker run --rm ffmotion doctor
#
# Debian 12's ffmpeg 5.1 is built with vid.stab, zmq, OpenCL, libplacebo, SRT, v4l2, x264,
# x265, VP9, SVT-AV1, Theora, WebP, Opus, Vorbis and freetype (its configure line, read from
# libavutil57); it lacks Vulkan, which ffmotion does not use. ffmotion takes it from PATH,
# before the one imageio-ffmpeg bundles (`ffmotion doctor` lists both).
FROM python:3.12-slim-bookworm

RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# the source tree (.dockerignore leaves out virtual environments, builds, caches and .git);
# the build makes the man page from the parsers (argparse-manpage, a build requirement)
COPY . /src
RUN pip install --no-cache-dir /src && rm -rf /src

RUN useradd --create-home ffmotion
USER ffmotion
# files given on the command line are read and written here: mount a folder on it
WORKDIR /work
ENTRYPOINT ["ffmotion"]
CMD ["--help"]
