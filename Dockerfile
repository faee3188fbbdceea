FROM node:24-slim
WORKDIR /app
COPY package.json package-lock.json ./
# npm ci applies patches/ (postinstall: patch-package).
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
# As npm start runs it: two malloc arenas and heap sizes that keep resident memory down (see README).
ENV HOST=0.0.0.0 PORT=8080 MALLOC_ARENA_MAX=2
EXPOSE 8080
USER node
CMD ["node", "--max-semi-space-size=16", "--max-old-space-size=384", "server/main.ts"]
