// Package deploy_test checks the deployment artifacts (Dockerfile,
// deploy/kubernetes, slack-app-manifest.yaml) for the properties that keep
// roombot safe in production and could quietly regress in an edit: a rollout
// that never drops every Socket Mode connection, probes on the right paths
// and port, non-root pods, tokens only in the Secret, and variable names the
// bot actually reads.
package deploy_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const (
	k8sDir       = "kubernetes"
	secretFile   = "secret.example.yaml"
	slackMaxConn = 10 // Socket Mode connections Slack allows per app

	// After the drain the bot still posts "outcome unknown" for what did
	// not finish (it waits up to 36 s for that: bot.settle, two Slack
	// calls of up to 15 s each after a 5 s claim store write), closes
	// both websockets (up to 1 s), and gives the HTTP server up to 5 s
	// to shut down (cmd/bot serveHTTP); 45 s covers the three.
	afterDrain = 45 * time.Second
)

// designEnv are the variables DESIGN.md documents; the binary must read
// every one of them.
var designEnv = []string{
	"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "SLACK_API_URL",
	"MESHAGENT_ROOM_URL", "MESHAGENT_API_KEY", "MESHAGENT_TOKEN",
	"ROOMBOT_ALLOWED_USERS", "ROOMBOT_RESTART_USERS",
	"ROOMBOT_NOTIFY_CHANNEL", "ROOMBOT_SIGNING_KEY", "ROOMBOT_CONFIRM_TTL",
	"ROOMBOT_HTTP_ADDR", "ROOMBOT_WATCH", "ROOMBOT_WATCH_INTERVAL",
	"ROOMBOT_REDIS_URL", "ROOMBOT_LOG_LEVEL", "ROOMBOT_LOG_FORMAT",
}

// secretEnv must come from the Secret, never a ConfigMap or a literal.
var secretEnv = []string{
	"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "MESHAGENT_API_KEY",
	"MESHAGENT_TOKEN", "ROOMBOT_SIGNING_KEY", "ROOMBOT_REDIS_URL",
}

func TestRolloutKeepsAConnection(t *testing.T) {
	objs := loadObjects(t)
	d := find(t, objs, "Deployment", "roombot")

	if got := str(d, "spec", "strategy", "type"); got != "RollingUpdate" {
		t.Errorf("roombot strategy.type = %q, want RollingUpdate", got)
	}
	ru := mapAt(d, "spec", "strategy", "rollingUpdate")
	if got := str(ru, "maxUnavailable"); got != "0" {
		t.Errorf("maxUnavailable = %q, want 0: a rollout must never "+
			"stop an old pod before its replacement is connected", got)
	}
	surge := atoi(t, str(ru, "maxSurge"))
	if surge < 1 {
		t.Errorf("maxSurge = %d, want >= 1 (maxUnavailable is 0)", surge)
	}

	replicas := atoi(t, str(d, "spec", "replicas"))
	if replicas < 2 || replicas > 3 {
		t.Errorf("replicas = %d, want 2 or 3", replicas)
	}
	if replicas+surge > slackMaxConn/2 {
		t.Errorf("replicas+maxSurge = %d uses over half of Slack's %d "+
			"connections, leaving little for other environments",
			replicas+surge, slackMaxConn)
	}

	drain := drainTimeout(t, find(t, objs, "ConfigMap", "roombot"))
	grace := time.Duration(atoi(t, str(d, "spec", "template", "spec",
		"terminationGracePeriodSeconds"))) * time.Second
	if grace < drain+afterDrain {
		t.Errorf("terminationGracePeriodSeconds = %v, want >= %v: the "+
			"drain (ROOMBOT_DRAIN_TIMEOUT) plus %v to report and close",
			grace, drain+afterDrain, afterDrain)
	}
}

// drainTimeout is ROOMBOT_DRAIN_TIMEOUT from the ConfigMap, or else the
// binary's default.
func drainTimeout(t *testing.T, cm object) time.Duration {
	t.Helper()
	s := str(cm, "data", "ROOMBOT_DRAIN_TIMEOUT")
	if s == "" {
		s = botEnv(t)["ROOMBOT_DRAIN_TIMEOUT"]
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("ROOMBOT_DRAIN_TIMEOUT %q: %v", s, err)
	}
	return d
}

func TestDisruptionBudget(t *testing.T) {
	objs := loadObjects(t)
	d := find(t, objs, "Deployment", "roombot")
	pdb := find(t, objs, "PodDisruptionBudget", "roombot")

	minAvail := atoi(t, str(pdb, "spec", "minAvailable"))
	replicas := atoi(t, str(d, "spec", "replicas"))
	if minAvail < 1 || minAvail >= replicas {
		t.Errorf("PDB minAvailable = %d with %d replicas, want 1..%d: "+
			"0 allows losing every connection, %d blocks node drains",
			minAvail, replicas, replicas-1, replicas)
	}
	assertSameLabels(t, "PDB selector",
		mapAt(pdb, "spec", "selector", "matchLabels"),
		mapAt(d, "spec", "template", "metadata", "labels"))
}

func TestProbesAndPort(t *testing.T) {
	objs := loadObjects(t)
	d := find(t, objs, "Deployment", "roombot")
	c := container(t, d, "roombot")
	port := httpPort(t, c)

	probes := []struct{ name, path string }{
		{"readinessProbe", "/readyz"},
		{"livenessProbe", "/healthz"},
		{"startupProbe", "/healthz"}, // optional; checked when present
	}
	for _, p := range probes {
		probe, ok := lookup(c, p.name)
		if !ok && p.name == "startupProbe" {
			continue
		}
		if !ok {
			t.Errorf("container roombot has no %s", p.name)
			continue
		}
		if got := str(probe, "httpGet", "path"); got != p.path {
			t.Errorf("%s path = %q, want %q", p.name, got, p.path)
		}
		got := str(probe, "httpGet", "port")
		if got != "http" && got != port {
			t.Errorf("%s port = %q, want http or %s", p.name, got, port)
		}
	}

	cm := find(t, objs, "ConfigMap", "roombot")
	addr := str(cm, "data", "ROOMBOT_HTTP_ADDR")
	if !strings.HasSuffix(addr, ":"+port) {
		t.Errorf("ConfigMap ROOMBOT_HTTP_ADDR = %q, want port %s "+
			"(containerPort http)", addr, port)
	}
	ann := str(d, "spec", "template", "metadata", "annotations",
		"prometheus.io/port")
	if ann != port {
		t.Errorf("prometheus.io/port = %q, want %s", ann, port)
	}
	if got := dockerExpose(t); got != port {
		t.Errorf("Dockerfile EXPOSE %s, want %s (containerPort http)",
			got, port)
	}
}

func TestPodSecurity(t *testing.T) {
	for _, o := range loadObjects(t) {
		if o.kind() != "Deployment" {
			continue
		}
		t.Run(o.name(), func(t *testing.T) {
			checkPodSecurity(t, mapAt(o.doc, "spec", "template", "spec"))
		})
	}
}

func checkPodSecurity(t *testing.T, pod map[string]any) {
	t.Helper()
	want := map[string]string{
		// The bot never calls the Kubernetes API.
		"automountServiceAccountToken": "false",
		// Service links inject *_PORT variables, some under ROOMBOT_.
		"enableServiceLinks":                  "false",
		"securityContext.runAsNonRoot":        "true",
		"securityContext.seccompProfile.type": "RuntimeDefault",
	}
	for path, v := range want {
		if got := str(pod, strings.Split(path, ".")...); got != v {
			t.Errorf("pod %s = %q, want %q", path, got, v)
		}
	}
	if uid := str(pod, "securityContext", "runAsUser"); uid == "0" {
		t.Errorf("pod runAsUser = 0")
	}

	for _, c := range listAt(pod, "containers") {
		sc := mapAt(c, "securityContext")
		name := str(c, "name")
		if got := str(sc, "allowPrivilegeEscalation"); got != "false" {
			t.Errorf("%s allowPrivilegeEscalation = %q", name, got)
		}
		if got := str(sc, "readOnlyRootFilesystem"); got != "true" {
			t.Errorf("%s readOnlyRootFilesystem = %q", name, got)
		}
		if got := str(sc, "runAsUser"); got == "0" {
			t.Errorf("%s runAsUser = 0", name)
		}
		if !slices.Contains(listAt(sc, "capabilities", "drop"), any("ALL")) {
			t.Errorf("%s does not drop ALL capabilities", name)
		}
	}
}

func TestEnvNames(t *testing.T) {
	objs := loadObjects(t)
	cm := find(t, objs, "ConfigMap", "roombot")
	c := container(t, find(t, objs, "Deployment", "roombot"), "roombot")

	var names []string
	for _, e := range listAt(c, "env") {
		names = append(names, str(e, "name"))
	}
	for k := range mapAt(cm, "data") {
		names = append(names, k)
	}
	// Commented-out examples get uncommented later; check them too.
	names = append(names, commentedKeys(t, filepath.Join(k8sDir,
		cm.file))...)

	known := botEnv(t)
	for _, n := range names {
		if _, ok := known[n]; !ok {
			t.Errorf("variable %s is not one roombot reads "+
				"(envconfig tags in cmd/bot)", n)
		}
	}
	for _, n := range designEnv {
		if _, ok := known[n]; !ok {
			t.Errorf("DESIGN.md documents %s, but cmd/bot does not read it",
				n)
		}
	}

	for _, ref := range listAt(c, "envFrom") {
		if got := str(ref, "configMapRef", "name"); got != cm.name() {
			t.Errorf("envFrom configMapRef %q, want %q", got, cm.name())
		}
	}
}

func TestSecretsOnlyFromSecret(t *testing.T) {
	objs := loadObjects(t)
	cm := find(t, objs, "ConfigMap", "roombot")
	c := container(t, find(t, objs, "Deployment", "roombot"), "roombot")

	inConfigMap := commentedKeys(t, filepath.Join(k8sDir, cm.file))
	for k := range mapAt(cm, "data") {
		inConfigMap = append(inConfigMap, k)
	}
	fromSecret := map[string]bool{}
	for _, e := range listAt(c, "env") {
		n := str(e, "name")
		_, isRef := lookup(e, "valueFrom", "secretKeyRef")
		fromSecret[n] = isRef
		if slices.Contains(secretEnv, n) && !isRef {
			t.Errorf("%s is set without secretKeyRef", n)
		}
	}
	for _, n := range secretEnv {
		if slices.Contains(inConfigMap, n) {
			t.Errorf("%s is in the ConfigMap; it belongs in the Secret", n)
		}
	}

	// Several replicas need the same signing key and a shared Redis.
	for _, n := range []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN",
		"ROOMBOT_SIGNING_KEY", "ROOMBOT_REDIS_URL"} {
		if !fromSecret[n] {
			t.Errorf("%s is not set from the Secret", n)
		}
	}
	if !fromSecret["MESHAGENT_API_KEY"] && !fromSecret["MESHAGENT_TOKEN"] {
		t.Errorf("neither MESHAGENT_API_KEY nor MESHAGENT_TOKEN is set")
	}
}

func TestSecretKeysExist(t *testing.T) {
	objs := loadObjects(t)
	secret := find(t, objs, "Secret", "roombot")
	keys := commentedKeys(t, filepath.Join(k8sDir, secretFile))
	for k, v := range mapAt(secret, "stringData") {
		keys = append(keys, k)
		// Placeholders only: a real-looking value invites committing one.
		if s, _ := v.(string); !strings.Contains(s, "REPLACE_ME") {
			t.Errorf("%s: %s = %q, want a REPLACE_ME placeholder",
				secretFile, k, s)
		}
	}

	for _, o := range objs {
		if o.kind() != "Deployment" {
			continue
		}
		pod := mapAt(o.doc, "spec", "template", "spec")
		for _, c := range listAt(pod, "containers") {
			for _, e := range listAt(c, "env") {
				ref := mapAt(e, "valueFrom", "secretKeyRef")
				if ref == nil {
					continue
				}
				if got := str(ref, "name"); got != secret.name() {
					t.Errorf("%s/%s %s: Secret %q, want %q", o.name(),
						str(c, "name"), str(e, "name"), got, secret.name())
				}
				if k := str(ref, "key"); !slices.Contains(keys, k) {
					t.Errorf("%s/%s: key %q is missing from %s",
						o.name(), str(c, "name"), k, secretFile)
				}
			}
		}
	}
}

func TestKustomization(t *testing.T) {
	objs := loadObjects(t)
	k := find(t, objs, "Kustomization", "")
	var resources []string
	for _, r := range listAt(k, "resources") {
		s, _ := r.(string)
		resources = append(resources, s)
	}

	// apply -k must never overwrite the real Secret with placeholders.
	if slices.Contains(resources, secretFile) {
		t.Errorf("kustomization lists %s", secretFile)
	}
	for _, o := range objs {
		f := o.file
		if f == secretFile || f == "kustomization.yaml" {
			continue
		}
		if !slices.Contains(resources, f) {
			t.Errorf("%s is not listed in kustomization resources", f)
		}
	}
	for _, r := range resources {
		if _, err := os.Stat(filepath.Join(k8sDir, r)); err != nil {
			t.Errorf("kustomization resource: %v", err)
		}
	}

	c := container(t, find(t, objs, "Deployment", "roombot"), "roombot")
	var names []string
	for _, img := range listAt(k, "images") {
		names = append(names, str(img, "name"))
	}
	if img := str(c, "image"); !slices.Contains(names, img) {
		t.Errorf("no kustomization images entry for %q (have %q)",
			img, names)
	}
}

func TestRedis(t *testing.T) {
	objs := loadObjects(t)
	d := find(t, objs, "Deployment", "roombot-redis")
	svc := find(t, objs, "Service", "roombot-redis")
	np := find(t, objs, "NetworkPolicy", "roombot-redis")
	bot := find(t, objs, "Deployment", "roombot")

	// Two Redis pods behind one Service would split the claims.
	if got := str(d, "spec", "replicas"); got != "1" {
		t.Errorf("redis replicas = %s, want 1", got)
	}
	if got := str(d, "spec", "strategy", "type"); got != "Recreate" {
		t.Errorf("redis strategy = %q, want Recreate", got)
	}

	redisLabels := mapAt(d, "spec", "template", "metadata", "labels")
	assertSameLabels(t, "redis Service selector",
		mapAt(svc, "spec", "selector"), redisLabels)
	assertSameLabels(t, "NetworkPolicy podSelector",
		mapAt(np, "spec", "podSelector", "matchLabels"), redisLabels)
	for _, rule := range listAt(np, "spec", "ingress") {
		for _, from := range listAt(rule, "from") {
			assertSameLabels(t, "NetworkPolicy ingress from",
				mapAt(from, "podSelector", "matchLabels"),
				mapAt(bot, "spec", "template", "metadata", "labels"))
		}
	}

	// A password among the arguments shows in /proc/PID/cmdline, to
	// anyone on the node who can list processes.
	for _, c := range listAt(d, "spec", "template", "spec", "containers") {
		argv := fmt.Sprint(listAt(c, "command"), listAt(c, "args"))
		if strings.Contains(argv, "$(REDIS_PASSWORD)") {
			t.Errorf("container %s puts $(REDIS_PASSWORD) on its command line: %s",
				str(c, "name"), argv)
		}
	}

	ports := listAt(svc, "spec", "ports")
	if len(ports) != 1 {
		t.Fatalf("redis Service has %d ports, want 1", len(ports))
	}
	port := str(ports[0], "port")
	secret := find(t, objs, "Secret", "roombot")
	url := str(secret, "stringData", "ROOMBOT_REDIS_URL")
	if want := "@" + svc.name() + ":" + port + "/"; !strings.Contains(url, want) {
		t.Errorf("template ROOMBOT_REDIS_URL = %q, want host %s", url,
			strings.Trim(want, "@/"))
	}
}

func TestDockerfile(t *testing.T) {
	stages := dockerStages(t)
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a build and a final one",
			len(stages))
	}

	build := strings.Join(slices.Concat(stages[:len(stages)-1]...), "\n")
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "./cmd/bot"} {
		if !strings.Contains(build, want) {
			t.Errorf("Dockerfile build stage lacks %s", want)
		}
	}
	goVersion := goModVersion(t)
	builder := regexp.MustCompile(`golang:(\d+\.\d+)\.\d+\b`).
		FindStringSubmatch(stages[0][0])
	if builder == nil || builder[1] != goVersion {
		t.Errorf("builder %q, want golang:%s.N pinned to a patch release",
			stages[0][0], goVersion)
	}

	final := stages[len(stages)-1]
	if strings.Contains(final[0], "golang") {
		t.Errorf("final stage %q ships the Go toolchain", final[0])
	}
	user := dockerInstr(final, "USER")
	uid, _, _ := strings.Cut(user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("final stage USER %q, want a numeric non-root uid", user)
	}
	if got := dockerInstr(final, "ENTRYPOINT"); got != `["/roombot"]` {
		t.Errorf("ENTRYPOINT %s, want [\"/roombot\"]", got)
	}
}

func TestSlackManifest(t *testing.T) {
	m := loadYAML(t, filepath.Join("..", "slack-app-manifest.yaml"))[0]
	settings := map[string]string{
		"settings.socket_mode_enabled":      "true",
		"settings.interactivity.is_enabled": "true",
		"settings.token_rotation_enabled":   "false",
	}
	for path, v := range settings {
		if got := str(m, strings.Split(path, ".")...); got != v {
			t.Errorf("%s = %q, want %q", path, got, v)
		}
	}
	if _, ok := lookup(m, "settings", "event_subscriptions"); ok {
		t.Errorf("settings.event_subscriptions is set; the bot needs none")
	}

	cmds := listAt(m, "features", "slash_commands")
	if len(cmds) != 1 || str(cmds[0], "command") != "/room-services" {
		t.Fatalf("slash_commands = %v, want /room-services only", cmds)
	}
	if got := str(cmds[0], "should_escape"); got != "false" {
		t.Errorf("should_escape = %q, want false", got)
	}
	hint := str(cmds[0], "usage_hint")
	var verbs []string
	for _, part := range strings.Split(hint, "|") {
		if f := strings.Fields(part); len(f) > 0 {
			verbs = append(verbs, f[0])
		}
	}
	want := []string{"list", "status", "restart", "watch", "unwatch",
		"watching", "help"}
	if !slices.Equal(verbs, want) {
		t.Errorf("usage_hint verbs = %q, want %q", verbs, want)
	}

	scopes := listAt(m, "oauth_config", "scopes", "bot")
	for _, s := range []any{"commands", "chat:write"} {
		if !slices.Contains(scopes, s) {
			t.Errorf("bot scopes lack %s", s)
		}
	}
	allowed := []any{"commands", "chat:write", "chat:write.public",
		"usergroups:read"}
	for _, s := range scopes {
		if !slices.Contains(allowed, s) {
			t.Errorf("bot scope %s is more than the bot needs", s)
		}
	}
}

// --- manifests ----------------------------------------------------------

type object struct {
	file string // base name within k8sDir
	doc  map[string]any
}

func (o object) kind() string { return str(o.doc, "kind") }
func (o object) name() string { return str(o.doc, "metadata", "name") }

func loadObjects(t *testing.T) []object {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s: %v", k8sDir, err)
	}
	var objs []object
	for _, f := range files {
		for _, d := range loadYAML(t, f) {
			m, ok := d.(map[string]any)
			if !ok {
				t.Fatalf("%s: a document is not a mapping", f)
			}
			objs = append(objs, object{filepath.Base(f), m})
		}
	}
	return objs
}

// find returns the object of that kind and name; "" matches any name.
func find(t *testing.T, objs []object, kind, name string) object {
	t.Helper()
	for _, o := range objs {
		if o.kind() == kind && (name == "" || o.name() == name) {
			return o
		}
	}
	t.Fatalf("no %s %q in %s", kind, name, k8sDir)
	return object{}
}

func container(t *testing.T, d object, name string) map[string]any {
	t.Helper()
	for _, c := range listAt(d.doc, "spec", "template", "spec",
		"containers") {
		if str(c, "name") == name {
			return c.(map[string]any)
		}
	}
	t.Fatalf("%s has no container %q", d.name(), name)
	return nil
}

// httpPort returns the containerPort named http.
func httpPort(t *testing.T, c map[string]any) string {
	t.Helper()
	for _, p := range listAt(c, "ports") {
		if str(p, "name") == "http" {
			return str(p, "containerPort")
		}
	}
	t.Fatalf("container %s has no port named http", str(c, "name"))
	return ""
}

func assertSameLabels(t *testing.T, what string, got, want map[string]any) {
	t.Helper()
	if len(got) == 0 {
		t.Errorf("%s is empty", what)
	}
	for k, v := range got {
		if want[k] != v {
			t.Errorf("%s %s=%v does not match the pods' labels %v",
				what, k, v, want)
		}
	}
}

var commentedKey = regexp.MustCompile(`^\s*#\s*([A-Z][A-Z0-9_]*):`)

// commentedKeys returns KEY from "# KEY: value" lines, the examples an
// operator uncomments.
func commentedKeys(t *testing.T, path string) []string {
	t.Helper()
	var keys []string
	for _, line := range strings.Split(readFile(t, path), "\n") {
		if m := commentedKey.FindStringSubmatch(line); m != nil {
			keys = append(keys, m[1])
		}
	}
	return keys
}

var (
	structTag  = regexp.MustCompile("`[^`]*`")
	envTag     = regexp.MustCompile(`envconfig:"([A-Z0-9_]+)"`)
	defaultTag = regexp.MustCompile(`default:"([^"]*)"`)
)

// botEnv returns the variables cmd/bot reads, from its envconfig struct
// tags, each with its default ("" for none). The manifests are checked
// against the binary, not against a copy of its list.
func botEnv(t *testing.T) map[string]string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "cmd", "bot", "*.go"))
	env := map[string]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		for _, tag := range structTag.FindAllString(readFile(t, f), -1) {
			m := envTag.FindStringSubmatch(tag)
			if m == nil {
				continue
			}
			env[m[1]] = ""
			if d := defaultTag.FindStringSubmatch(tag); d != nil {
				env[m[1]] = d[1]
			}
		}
	}
	if len(env) == 0 {
		t.Fatal("found no envconfig tags in cmd/bot")
	}
	return env
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("want an integer, got %q", s)
	}
	return n
}

// --- Dockerfile and go.mod ------------------------------------------------

// dockerStages returns the Dockerfile's instructions, continuation lines
// joined, grouped by stage; each stage starts with its FROM.
func dockerStages(t *testing.T) [][]string {
	t.Helper()
	src := readFile(t, filepath.Join("..", "Dockerfile"))
	var stages [][]string
	cur := ""
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") || (line == "" && cur == "") {
			continue
		}
		if more, ok := strings.CutSuffix(line, `\`); ok {
			cur += more + " "
			continue
		}
		cur += line
		if strings.HasPrefix(strings.ToUpper(cur), "FROM ") {
			stages = append(stages, nil)
		}
		if len(stages) > 0 && cur != "" {
			stages[len(stages)-1] = append(stages[len(stages)-1], cur)
		}
		cur = ""
	}
	return stages
}

// dockerInstr returns the arguments of the stage's last instr.
func dockerInstr(stage []string, instr string) string {
	args := ""
	for _, line := range stage {
		word, rest, _ := strings.Cut(line, " ")
		if strings.EqualFold(word, instr) {
			args = strings.TrimSpace(rest)
		}
	}
	return args
}

func dockerExpose(t *testing.T) string {
	t.Helper()
	stages := dockerStages(t)
	port := dockerInstr(stages[len(stages)-1], "EXPOSE")
	port, _, _ = strings.Cut(port, "/")
	return port
}

func goModVersion(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).
		FindStringSubmatch(readFile(t, filepath.Join("..", "go.mod")))
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	return m[1]
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// --- navigating parsed YAML ------------------------------------------------

// lookup follows map keys from v, an object or a parsed YAML value.
func lookup(v any, path ...string) (any, bool) {
	if o, ok := v.(object); ok {
		v = o.doc
	}
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

func str(v any, path ...string) string {
	x, _ := lookup(v, path...)
	s, _ := x.(string)
	return s
}

func mapAt(v any, path ...string) map[string]any {
	x, _ := lookup(v, path...)
	m, _ := x.(map[string]any)
	return m
}

func listAt(v any, path ...string) []any {
	x, _ := lookup(v, path...)
	l, _ := x.([]any)
	return l
}

// --- reading YAML ----------------------------------------------------------

// loadYAML reads every document of a YAML file. Scalars become strings, as
// the manifests' readers (kubectl, Slack) would print them, so the checks
// above compare text whatever type YAML gave a value.
func loadYAML(t *testing.T, path string) []any {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(readFile(t, path)))
	var docs []any
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if v != nil {
			docs = append(docs, textual(v))
		}
	}
}

func textual(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = textual(x)
		}
		return v
	case []any:
		for i, x := range v {
			v[i] = textual(x)
		}
		return v
	case nil:
		return ""
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}
