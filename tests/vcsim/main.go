// Command vcsim serves govmomi's vCenter (VPX) or ESXi (ESX) simulator on
// 127.0.0.1 for provisioner's tests. Debian ships the simulator library
// (golang-github-vmware-govmomi-dev) but not the vcsim command: this is the
// small front-end scripts/vcsim builds (GOPATH=/usr/share/gocode
// GO111MODULE=off go build).
//
// It serves TLS with a fresh self-signed certificate (written with -cert-out,
// so clients verify it as their CA), checks the user name and password of
// every login, prints "VCSIM_URL=https://127.0.0.1:PORT/sdk" once it serves,
// and stops on SIGTERM or SIGINT, removing its datastore directories.
//
// Fault injection, for tests only: POST a JSON rule to /_provisioner/faults
// and the next matching SOAP calls fail with the vSphere fault named, either
// as the call's own fault or, with "task": true, as a task that fails (after
// "delay_ms") or never ends ("hang": true). DELETE /_provisioner/faults
// clears every rule. The simulator alone never fails a task for lack of
// capacity, nor makes one wait.
//
// Clones get their own devices (serveClone): govmomi 0.24 hands the source's
// device objects themselves to every clone (govmomi issue 2706).
package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
	vimxml "github.com/vmware/govmomi/vim25/xml"
)

func main() {
	model := flag.String("model", "vpx", "vpx (a vCenter) or esx (a standalone ESXi host)")
	listen := flag.String("listen", "127.0.0.1:0", "address to serve on (port 0: a free one)")
	username := flag.String("username", "user", "the only user that may log in")
	passwordEnv := flag.String("password-env", "VCSIM_PASSWORD", "environment variable holding the password")
	certOut := flag.String("cert-out", "", "write the server's self-signed certificate (PEM) to this file")
	urlOut := flag.String("url-out", "", "write the SDK URL to this file once serving")
	datastores := flag.Int("datastores", 1, "local datastores per datacenter")
	clusters := flag.Int("clusters", 1, "vpx: clusters per datacenter")
	clusterHosts := flag.Int("cluster-hosts", 3, "vpx: hosts per cluster")
	hosts := flag.Int("hosts", 1, "vpx: standalone hosts per datacenter")
	portgroups := flag.Int("portgroups", 1, "vpx: distributed port groups per datacenter")
	vms := flag.Int("vms", 2, "virtual machines per host and per cluster (powered on)")
	flag.Parse()

	password := os.Getenv(*passwordEnv)
	if password == "" {
		log.Fatalf("set the password in $%s", *passwordEnv)
	}
	m := newModel(*model)
	m.Datastore = *datastores
	m.Machine = *vms
	if *model == "vpx" {
		m.Cluster, m.ClusterHost, m.Host, m.Portgroup = *clusters, *clusterHosts, *hosts, *portgroups
	}
	if err := m.Create(); err != nil {
		log.Fatalf("creating the %s model: %s", *model, err)
	}
	defer m.Remove()

	certificate, pemBytes, err := selfSigned()
	if err != nil {
		log.Fatalf("making the certificate: %s", err)
	}
	if *certOut != "" {
		if err := writeAtomically(*certOut, pemBytes); err != nil {
			log.Fatalf("writing %s: %s", *certOut, err)
		}
	}
	m.Service.TLS = &tls.Config{Certificates: []tls.Certificate{certificate}}
	m.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword(*username, password)}
	server := m.Service.NewServer()
	defer server.Close()
	// No client knows the address yet: swapping the handler now races with nothing.
	server.Server.Config.Handler = newInjector(server.Server.Config.Handler)

	sdk := url.URL{Scheme: "https", Host: server.URL.Host, Path: server.URL.Path}
	if *urlOut != "" {
		if err := writeAtomically(*urlOut, []byte(sdk.String()+"\n")); err != nil {
			log.Fatalf("writing %s: %s", *urlOut, err)
		}
	}
	fmt.Printf("VCSIM_URL=%s\n", sdk.String())
	_ = os.Stdout.Sync()

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}

func newModel(name string) *simulator.Model {
	switch name {
	case "vpx":
		return simulator.VPX()
	case "esx":
		return simulator.ESX()
	}
	log.Fatalf("unknown model %q: vpx or esx", name)
	return nil
}

// selfSigned makes a certificate for 127.0.0.1 and localhost that is its own CA,
// so a client can pin it as the only trusted CA (TLS stays verified).
func selfSigned() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	template := x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "vcsim", Organization: []string{"provisioner tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, &template, &template, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	certificate := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return certificate, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

func writeAtomically(path string, content []byte) error {
	temporary := path + ".tmp"
	if err := os.WriteFile(temporary, content, 0o644); err != nil {
		return err
	}
	return os.Rename(temporary, path)
}

// -- fault injection -----------------------------------------------------------------

type rule struct {
	Method  string `json:"method"`   // the SOAP method, such as PowerOnVM_Task
	Target  string `json:"target"`   // the name of the object called; empty: any
	Fault   string `json:"fault"`    // a key of faults
	Message string `json:"message"`  // the fault's text
	Task    bool   `json:"task"`     // fail in the task the call returns
	Hang    bool   `json:"hang"`     // with task: the task runs forever
	DelayMS int    `json:"delay_ms"` // with task: how long it runs before failing
	Times   int    `json:"times"`    // calls that fail; 0: every call
}

type ref = types.ManagedObjectReference

// faults builds each injectable fault for a call on `this` (references must be set:
// clients cannot read an empty one).
var faults = map[string]func(r rule, this ref) types.BaseMethodFault{
	"InsufficientResourcesFault": func(rule, ref) types.BaseMethodFault {
		return &types.InsufficientResourcesFault{}
	},
	"InsufficientMemoryResourcesFault": func(rule, ref) types.BaseMethodFault {
		return &types.InsufficientMemoryResourcesFault{}
	},
	"DuplicateName": func(r rule, this ref) types.BaseMethodFault {
		return &types.DuplicateName{Name: r.Target, Object: this}
	},
	"InvalidPowerState": func(rule, ref) types.BaseMethodFault {
		return &types.InvalidPowerState{ExistingState: types.VirtualMachinePowerStatePoweredOn}
	},
	"InvalidState": func(rule, ref) types.BaseMethodFault { return &types.InvalidState{} },
	"TaskInProgress": func(rule, ref) types.BaseMethodFault {
		return &types.TaskInProgress{Task: ref{Type: "Task", Value: "task-busy"}}
	},
	"NotAuthenticated": func(_ rule, this ref) types.BaseMethodFault {
		return &types.NotAuthenticated{NoPermission: types.NoPermission{Object: this, PrivilegeId: "System.View"}}
	},
	"NoPermission": func(_ rule, this ref) types.BaseMethodFault {
		return &types.NoPermission{Object: this, PrivilegeId: "VirtualMachine.Config.Resource"}
	},
	"HostCommunication": func(rule, ref) types.BaseMethodFault { return &types.HostCommunication{} },
	"FileNotFound": func(r rule, _ ref) types.BaseMethodFault {
		return &types.FileNotFound{FileFault: types.FileFault{File: r.Target}}
	},
	"SystemError": func(r rule, _ ref) types.BaseMethodFault { return &types.SystemError{Reason: r.Message} },
}

type injector struct {
	next    http.Handler
	mu      sync.Mutex
	rules   []*rule
	cloning sync.Mutex // one clone at a time: each swaps its source's devices (serveClone)
}

func newInjector(next http.Handler) *injector {
	return &injector{next: next}
}

func (i *injector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/_provisioner/faults":
		i.serveRules(w, r)
	case r.URL.Path == "/sdk" && r.Method == http.MethodPost:
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		method, this := parseCall(body)
		if armed := i.take(method, this); armed != nil {
			i.fail(w, armed, method, this)
			return
		}
		if method == "CloneVM_Task" {
			i.serveClone(w, r, this)
			return
		}
		i.next.ServeHTTP(w, r)
	default:
		i.next.ServeHTTP(w, r)
	}
}

// serveClone runs a CloneVM_Task with the source holding copies of its devices, then
// gives the source its own devices back: the clone keeps the copies. govmomi 0.24's
// clone adds the source's device objects themselves to the new VM (govmomi issue
// 2706, fixed upstream in 0.28), so the template and all its clones shared one disk
// and one NIC: a clone's disk file name was written into the template's disk, every
// clone had the template's MAC, and two clones made at once, or a clone made while a
// sibling was reconfigured, raced on one disk ("FileNotFound .../api-0_1-flat.vmdk").
// The copies' NICs without a manual MAC lose it, so the clone gets a MAC of its own,
// as on vCenter. The simulator runs a clone inside the call, so restoring after the
// call is safe; clones are serialized here so that no two swap one source at once.
func (i *injector) serveClone(w http.ResponseWriter, r *http.Request, this types.ManagedObjectReference) {
	source, ok := simulator.Map.Get(this).(*simulator.VirtualMachine)
	if !ok {
		i.next.ServeHTTP(w, r)
		return
	}
	i.cloning.Lock()
	defer i.cloning.Unlock()
	var own []types.BaseVirtualDevice
	simulator.Map.WithLock(source, func() {
		own = source.Config.Hardware.Device
		source.Config.Hardware.Device = copiesForClone(own)
	})
	defer simulator.Map.WithLock(source, func() { source.Config.Hardware.Device = own })
	i.next.ServeHTTP(w, r)
}

// copiesForClone deep-copies devices (through the SOAP encoding, as govmomi's own
// deepCopy does) and clears the MACs vSphere generated, so the clone generates its own.
func copiesForClone(devices []types.BaseVirtualDevice) []types.BaseVirtualDevice {
	copies := make([]types.BaseVirtualDevice, 0, len(devices))
	for _, device := range devices {
		encoded, err := vimxml.Marshal(device)
		if err != nil {
			log.Panicf("copying device %d: %s", device.GetVirtualDevice().Key, err)
		}
		copied := reflect.New(reflect.TypeOf(device).Elem()).Interface().(types.BaseVirtualDevice)
		decoder := vimxml.NewDecoder(bytes.NewReader(encoded))
		decoder.TypeFunc = types.TypeFunc()
		if err := decoder.Decode(copied); err != nil {
			log.Panicf("copying device %d: %s", device.GetVirtualDevice().Key, err)
		}
		if nic, ok := copied.(types.BaseVirtualEthernetCard); ok {
			card := nic.GetVirtualEthernetCard()
			if !strings.EqualFold(card.AddressType, string(types.VirtualEthernetCardMacTypeManual)) {
				card.MacAddress = ""
			}
		}
		copies = append(copies, copied)
	}
	return copies
}

func (i *injector) serveRules(w http.ResponseWriter, r *http.Request) {
	i.mu.Lock()
	defer i.mu.Unlock()
	switch r.Method {
	case http.MethodPost:
		armed := new(rule)
		if err := json.NewDecoder(r.Body).Decode(armed); err != nil || armed.Method == "" {
			http.Error(w, "a rule needs at least \"method\" and \"fault\"", http.StatusBadRequest)
			return
		}
		if _, ok := faults[armed.Fault]; !ok {
			http.Error(w, fmt.Sprintf("unknown fault %q", armed.Fault), http.StatusBadRequest)
			return
		}
		i.rules = append(i.rules, armed)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodDelete:
		i.rules = nil
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(i.rules)
	}
}

// take returns the first rule matching the call and uses up one of its times.
func (i *injector) take(method string, this types.ManagedObjectReference) *rule {
	i.mu.Lock()
	defer i.mu.Unlock()
	for index, armed := range i.rules {
		if armed.Method != method || (armed.Target != "" && armed.Target != nameOf(this)) {
			continue
		}
		taken := *armed
		if armed.Times > 0 {
			armed.Times--
			if armed.Times == 0 {
				i.rules = append(i.rules[:index], i.rules[index+1:]...)
			}
		}
		return &taken
	}
	return nil
}

func nameOf(ref types.ManagedObjectReference) string {
	if entity, ok := simulator.Map.Get(ref).(mo.Entity); ok {
		return entity.Entity().Name
	}
	return ""
}

// parseCall reads the method name and its _this from a SOAP request body.
func parseCall(body []byte) (string, types.ManagedObjectReference) {
	var envelope struct {
		Body struct {
			Call struct {
				XMLName xml.Name
				This    struct {
					Type  string `xml:"type,attr"`
					Value string `xml:",chardata"`
				} `xml:"_this"`
			} `xml:",any"`
		}
	}
	if err := xml.Unmarshal(body, &envelope); err != nil {
		return "", types.ManagedObjectReference{}
	}
	call := envelope.Body.Call
	return call.XMLName.Local, types.ManagedObjectReference{Type: call.This.Type, Value: call.This.Value}
}

func (i *injector) fail(w http.ResponseWriter, armed *rule, method string, this types.ManagedObjectReference) {
	fault := faults[armed.Fault](*armed, this)
	message := armed.Message
	if message == "" {
		message = fmt.Sprintf("%s (injected)", armed.Fault)
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	entity := simulator.Map.Get(this)
	if !armed.Task || entity == nil {
		w.WriteHeader(http.StatusInternalServerError)
		writeEnvelope(w, soapFault{Code: "ServerFaultCode", String: message, Detail: detail{fault}})
		return
	}
	task := simulator.CreateTask(entity, strings.TrimSuffix(method, "_Task"), nil)
	update(task, []types.PropertyChange{
		{Name: "info.state", Val: types.TaskInfoStateRunning},
		{Name: "info.startTime", Val: time.Now()},
	})
	if !armed.Hang {
		finish := func() {
			update(task, []types.PropertyChange{
				{Name: "info.state", Val: types.TaskInfoStateError},
				{Name: "info.completeTime", Val: time.Now()},
				{Name: "info.error", Val: &types.LocalizedMethodFault{Fault: fault, LocalizedMessage: message}},
			})
		}
		if armed.DelayMS > 0 {
			time.AfterFunc(time.Duration(armed.DelayMS)*time.Millisecond, finish)
		} else {
			finish()
		}
	}
	writeEnvelope(w, taskResponse{XMLName: xml.Name{Local: method + "Response"}, NS: "urn:vim25",
		Returnval: taskRef{Type: "Task", Value: task.Self.Value}})
}

func update(task *simulator.Task, changes []types.PropertyChange) {
	simulator.Map.WithLock(task, func() { simulator.Map.Update(task, changes) })
}

type envelope struct {
	XMLName xml.Name `xml:"soapenv:Envelope"`
	Env     string   `xml:"xmlns:soapenv,attr"`
	XSD     string   `xml:"xmlns:xsd,attr"`
	XSI     string   `xml:"xmlns:xsi,attr"`
	Body    body
}

// body keeps its element name whatever the content's own XMLName is.
type body struct {
	XMLName xml.Name `xml:"soapenv:Body"`
	Content interface{}
}

type soapFault struct {
	XMLName xml.Name `xml:"soapenv:Fault"`
	Code    string   `xml:"faultcode"`
	String  string   `xml:"faultstring"`
	Detail  detail   `xml:"detail"`
}

type detail struct {
	Fault types.BaseMethodFault
}

// MarshalXML writes <detail><KindFault xsi:type="Kind">...</KindFault></detail>,
// as vCenter and the simulator do.
func (d detail) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	kind := reflect.TypeOf(d.Fault).Elem().Name()
	inner := xml.StartElement{Name: xml.Name{Local: kind + "Fault"}, Attr: []xml.Attr{
		{Name: xml.Name{Local: "xmlns"}, Value: "urn:vim25"},
		{Name: xml.Name{Local: "xsi:type"}, Value: kind},
	}}
	if err := e.EncodeElement(d.Fault, inner); err != nil {
		return err
	}
	return e.EncodeToken(start.End())
}

type taskRef struct {
	Type  string `xml:"type,attr"`
	Value string `xml:",chardata"`
}

type taskResponse struct {
	XMLName   xml.Name
	NS        string  `xml:"xmlns,attr"`
	Returnval taskRef `xml:"returnval"`
}

func writeEnvelope(w io.Writer, content interface{}) {
	_, _ = io.WriteString(w, xml.Header)
	_ = xml.NewEncoder(w).Encode(envelope{
		Env:  "http://schemas.xmlsoap.org/soap/envelope/",
		XSD:  "http://www.w3.org/2001/XMLSchema",
		XSI:  "http://www.w3.org/2001/XMLSchema-instance",
		Body: body{Content: content},
	})
}
