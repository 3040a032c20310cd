# Parsimony worker image: `parsimony worker --storage postgres://... --study NAME` joins a study.
FROM node:20-bookworm-slim AS build
# better-sqlite3 compiles from source when no prebuilt binary can be fetched.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
COPY assets ./assets
COPY python ./python
COPY examples ./examples
RUN npm install --no-audit --no-fund && npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
# Trials may be Python programs: the helper in python/ needs only the standard library; the
# example study uses scikit-learn.
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-sklearn tini && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app /app
ENV NODE_ENV=production
# tini forwards SIGTERM so a worker marks its running trials and exits cleanly when a pod stops.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/bin/parsimony.js"]
CMD ["--help"]
